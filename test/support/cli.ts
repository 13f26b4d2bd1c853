import { execFile } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from './service.js';

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

const CLI = path.join(repoRoot, 'apps', 'cli', 'dist', 'main.js');

/** The built CLI as a child process, like a person or a script runs it (stdio is not a TTY). */
export function runCli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { cwd: repoRoot, env: { ...process.env, ...env }, timeout: 120_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
