/** Checks on files named by a person, with errors that say which and why. */

import { stat } from "node:fs/promises";

import { PfsError } from "../errors.js";

/** PFS_ERR_FILE_NOT_FOUND unless `path` is an existing regular file. */
export async function checkFile(role: string, path: string): Promise<void> {
  let st;
  try {
    st = await stat(path);
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === "ENOENT" ? "does not exist" : String(err);
    throw new PfsError("PFS_ERR_FILE_NOT_FOUND", `${role} file ${path} ${why}`, "check the path");
  }
  if (!st.isFile()) {
    throw new PfsError(
      "PFS_ERR_FILE_NOT_FOUND",
      `${role} file ${path} is not a regular file`,
      "pass a file, not a directory or device",
    );
  }
}
