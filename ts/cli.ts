#!/usr/bin/env node
/**
 * Entry point of `pfs-dp`. Everything lives in program.ts; this file only runs it
 * and hands the exit code to Node (process.exitCode, so pending output is flushed).
 */

import { main } from "./program.js";

process.exitCode = await main(process.argv);
