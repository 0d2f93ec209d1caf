/**
 * Where commands write. Commands never touch process.stdout directly, so tests
 * can build the program with an Io that captures output instead.
 */

export interface Io {
  /** Normal output (results, help). */
  out(text: string): void;
  /** Diagnostics and errors. */
  err(text: string): void;
}

export const processIo: Io = Object.freeze({
  out: (text: string) => void process.stdout.write(text),
  err: (text: string) => void process.stderr.write(text),
});

/** An Io that keeps everything in memory (for tests and embedding). */
export function memoryIo(): Io & { stdout: () => string; stderr: () => string } {
  let out = "";
  let err = "";
  return {
    out: (text: string) => void (out += text),
    err: (text: string) => void (err += text),
    stdout: () => out,
    stderr: () => err,
  };
}
