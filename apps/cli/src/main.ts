#!/usr/bin/env node
import { run } from './run.js';

// exitCode rather than exit(): stdout to a pipe is flushed before the process ends.
process.exitCode = await run(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
});
