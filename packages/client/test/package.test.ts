// The client as a handler outside this repository gets it: `npm pack`ed, installed from the
// tarball into an empty folder, imported, type-checked and used against a real HTTP server.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const repoRoot = path.resolve(import.meta.dirname, '../../..');
const tsc = path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');

describe('@model-manager/client packed and installed into an empty folder', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mm-client-pack-'));
  const project = path.join(dir, 'handler');
  let tarball = '';

  beforeAll(async () => {
    const { stdout } = await run(
      'npm',
      ['pack', '--workspace', '@model-manager/client', '--pack-destination', dir, '--json'],
      { cwd: repoRoot },
    );
    tarball = path.join(dir, (JSON.parse(stdout) as Array<{ filename: string }>)[0]!.filename);
    mkdirSync(project);
    writeFileSync(
      path.join(project, 'package.json'),
      JSON.stringify({ name: 'handler', private: true, type: 'module' }),
    );
    // Offline: a dependency the tarball still had would have to come from a registry, and fail.
    await run('npm', ['install', '--offline', '--no-audit', '--no-fund', tarball], { cwd: project });
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('holds the compiled client and nothing else of the repository', async () => {
    const { stdout } = await run('tar', ['-tzf', tarball]);
    const files = stdout.trim().split('\n');
    expect(files).toContain('package/dist/index.js');
    expect(files).toContain('package/dist/index.d.ts');
    expect(files.filter((f) => !/^package\/(dist|src)\/|^package\/package\.json$/.test(f))).toEqual([]);
  });

  it('installs with no dependencies at all: no BullMQ, ioredis, pino, express or zod', async () => {
    const { stdout } = await run('npm', ['ls', '--all', '--json'], { cwd: project });
    const tree = JSON.parse(stdout) as { dependencies: Record<string, { version: string; dependencies?: object }> };
    expect(Object.keys(tree.dependencies)).toEqual(['@model-manager/client']);
    expect(tree.dependencies['@model-manager/client']!.dependencies ?? {}).toEqual({});
    expect(readdirSync(path.join(project, 'node_modules')).sort()).toEqual(['.package-lock.json', '@model-manager']);
  });

  it('type-checks a handler against its bundled types', async () => {
    writeFileSync(
      path.join(project, 'handler.ts'),
      `import { ModelManagerClient, JobFailedError, type PrepareRequest, type PrepareResult } from '@model-manager/client';
const client = new ModelManagerClient({ baseUrl: 'http://127.0.0.1:3000', token: 'x' });
const request: PrepareRequest = { loras: [{ name: 'a', url: 'https://huggingface.co/a.safetensors', scale: 0.8 }] };
export const answer: Promise<PrepareResult> = client.prepare(request);
export const failed: boolean = new Error() instanceof JobFailedError;
// @ts-expect-error: a kind the API does not know
export const wrong: PrepareRequest = { checkpoint: { kind: 'lora', name: 'b', url: 'https://huggingface.co/b' } };
`,
    );
    writeFileSync(
      path.join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          noEmit: true,
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          target: 'ES2022',
          lib: ['ES2023', 'DOM'],
          types: [],
        },
        files: ['handler.ts'],
      }),
    );
    await expect(run(process.execPath, [tsc, '-p', project], { cwd: project })).resolves.toBeDefined();
  });

  describe('used by a handler against a real HTTP server', () => {
    let server: http.Server;
    let baseUrl = '';
    beforeAll(async () => {
      server = http.createServer((req, res) => {
        const ok = req.headers.authorization === 'Bearer handler-token' && req.url === '/v1/models';
        res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify(
            ok ? { models: [{ kind: 'lora', name: 'a' }] } : { error: { code: 'UNAUTHORIZED', message: 'no' } },
          ),
        );
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('imports and calls the API from the installed package', async () => {
      const script = `import { ModelManagerClient } from '@model-manager/client';
const models = await new ModelManagerClient({ baseUrl: process.argv[1], token: 'handler-token' }).models();
const refused = await new ModelManagerClient({ baseUrl: process.argv[1] }).models().catch((err) => err.name + ' ' + err.status);
console.log(JSON.stringify({ models, refused }));`;
      const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script, baseUrl], { cwd: project });
      expect(JSON.parse(stdout)).toEqual({ models: [{ kind: 'lora', name: 'a' }], refused: 'ModelManagerError 401' });
    });
  });
});
