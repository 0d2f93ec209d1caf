/**
 * Fake C tools for tests: small shell scripts written into a temporary build
 * directory that PFS_BUILD_DIR points at, so the native-tool contract can be
 * exercised without the C build.
 */

import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface FakeBuildDir {
  dir: string;
  /** Write an executable /bin/sh script named `name` with this body. */
  tool(name: string, body: string): string;
  /** Restore PFS_BUILD_DIR and delete the directory. */
  cleanup(): void;
}

export function fakeBuildDir(): FakeBuildDir {
  const dir = mkdtempSync(join(tmpdir(), "pfs-fake-build-"));
  const saved = process.env["PFS_BUILD_DIR"];
  process.env["PFS_BUILD_DIR"] = dir;
  return {
    dir,
    tool(name, body) {
      const path = join(dir, name);
      writeFileSync(path, `#!/bin/sh\n${body}\n`);
      chmodSync(path, 0o755);
      return path;
    },
    cleanup() {
      if (saved === undefined) delete process.env["PFS_BUILD_DIR"];
      else process.env["PFS_BUILD_DIR"] = saved;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
