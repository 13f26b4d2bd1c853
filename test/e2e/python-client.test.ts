import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { beforeAll, describe, expect, it } from 'vitest';
import { servicePerSuite } from '../support/service-per-suite.js';
import { repoRoot, startApp } from '../support/service.js';

const PACKAGE = path.join(repoRoot, 'packages', 'client-python');
const TOKEN = `python-client-${randomBytes(12).toString('hex')}`;

/** The files the Python service tests download from the loopback origin, and their sizes. */
const ORIGIN_FILES: Record<string, number> = {
  'flow-checkpoint.safetensors': 256 * 1024,
  ...Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`flow-lora-${i}.safetensors`, 64 * 1024])),
  ...Object.fromEntries(['a', 'b', 'c', 'd'].map((x) => [`drop-lora-${x}.safetensors`, 64 * 1024])),
  'drop-checkpoint.safetensors': 128 * 1024,
  'drop-single-checkpoint.safetensors': 64 * 1024,
  'drop-single-lora.safetensors': 64 * 1024,
  'drop-single-embedding.safetensors': 16 * 1024,
  'drop-wrong.safetensors': 64 * 1024,
  'client-fetch.safetensors': 512 * 1024,
  'client-wrong.safetensors': 64 * 1024,
  'client-stall.safetensors': 256 * 1024,
  'client-batch-a.safetensors': 64 * 1024,
  'client-prepare.safetensors': 128 * 1024,
  'client-prepare-lora.safetensors': 64 * 1024,
  'client-mapped.safetensors': 64 * 1024,
  'client-linked.safetensors': 32 * 1024,
  ...Object.fromEntries(Array.from({ length: 4 }, (_, i) => [`client-unicode-${i}.safetensors`, 32 * 1024])),
  'restart-cached.safetensors': 32 * 1024,
};

interface PythonRun {
  code: number | null;
  output: string;
}

/** Runs Python in the package folder, its output (stdout and stderr) line by line to `onLine`. */
function runPython(
  command: string,
  args: string[],
  env: Record<string, string>,
  onLine: (line: string) => void = () => {},
): Promise<PythonRun> {
  const child = spawn(command, args, {
    cwd: PACKAGE,
    env: {
      ...process.env,
      PYTHONPATH: path.join(PACKAGE, 'src'),
      PYTHONDONTWRITEBYTECODE: '1',
      PYTHONUNBUFFERED: '1',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const take = (line: string) => {
    lines.push(line);
    onLine(line);
  };
  createInterface({ input: child.stdout! }).on('line', take);
  createInterface({ input: child.stderr! }).on('line', take);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output: lines.join('\n') }));
  });
}

/** Fails with Python's own output when it failed. */
function expectPassed(run: PythonRun, what: string): void {
  if (run.code !== 0) throw new Error(`${what} failed (exit ${run.code}):\n${run.output}`);
  expect(run.output).toMatch(/^OK/m);
}

describe('the Python client (packages/client-python) against the real service', () => {
  const suite = servicePerSuite('pyclient', { API_TOKEN: TOKEN });
  let testEnv: Record<string, string>;

  beforeAll(() => {
    const files: Record<string, string> = {};
    for (const [name, size] of Object.entries(ORIGIN_FILES)) files[name] = suite.origin.addFile(name, size).sha256;
    testEnv = {
      MODEL_MANAGER_URL: suite.svc.apiUrl,
      MODEL_MANAGER_TOKEN: TOKEN,
      MM_TEST_ORIGIN: suite.origin.url,
      MM_TEST_MODELS_DIR: suite.svc.modelsDir,
      MM_TEST_FILES: JSON.stringify(files),
    };
  });

  it("passes its unit tests (prompt, errors, settings, the client's logic)", async () => {
    expectPassed(
      await runPython('python3', ['-m', 'unittest', 'discover', '-s', 'tests/unit', '-v'], {}),
      'python3 -m unittest (unit)',
    );
  });

  it('passes its service tests: the handler flow, drop-in shapes, leases, typed errors, the token', async () => {
    const run = await runPython('python3', ['-m', 'unittest', 'discover', '-s', 'tests/service', '-v'], testEnv);
    expectPassed(run, 'python3 -m unittest (service)');
    expect(run.output).not.toContain(TOKEN);
  });

  it('answers a call made while the API restarts once it is back on its port', async () => {
    const svc = suite.svc;
    const cached = await fetch(`${svc.apiUrl}/v1/fetch?wait=30`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({
        kind: 'lora',
        name: 'restart cached',
        url: `${suite.origin.url}/files/restart-cached.safetensors`,
      }),
    });
    expect(cached.status).toBe(200);
    const port = new URL(svc.apiDirectUrl).port; // behind the contract proxy, which stays up
    await svc.api.stop();

    let restarted: Promise<unknown> | undefined;
    const run = await runPython(
      'python3',
      ['-m', 'unittest', 'discover', '-s', 'tests/restart', '-v'],
      testEnv,
      (line) => {
        // The client has found the API gone and is asking again: bring it back on the same port.
        if (restarted || !/asking again/.test(line)) return;
        svc.api = startApp('api', { ...svc.env, PORT: port });
        restarted = svc.api.waitForLog('api listening');
      },
    );
    await restarted;
    expectPassed(run, 'python3 -m unittest (restart)');
    expect(restarted).toBeDefined();
  });

  it('installs with pip from its folder with no package index, and imports without settings', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mm-pyclient-venv-'));
    try {
      // Debian's python3 with its setuptools and wheel: what a handler image without network has.
      const venv = await runPython('/usr/bin/python3', ['-m', 'venv', '--system-site-packages', dir], {});
      expect(venv.code, venv.output).toBe(0);
      const pip = await runPython(
        path.join(dir, 'bin', 'pip'),
        ['install', '--no-build-isolation', '--no-index', '--no-cache-dir', PACKAGE],
        {},
      );
      expect(pip.code, pip.output).toBe(0);
      const imported = await runPython(
        path.join(dir, 'bin', 'python'),
        [
          '-c',
          'import model_manager_client, sys; from model_manager_client import model_manager; print(model_manager_client.__file__.startswith(sys.prefix), repr(model_manager))',
        ],
        { PYTHONPATH: '', MODEL_MANAGER_URL: '' },
      );
      expect(imported.code, imported.output).toBe(0);
      expect(imported.output).toBe('True ModelManager(<from MODEL_MANAGER_URL on first use>)');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
