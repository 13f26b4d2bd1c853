import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { run } from '../src/run.js';

/*
 * fetch and prefetch through run(), against a tiny HTTP server answering as the API does when it
 * resolves `source` through a host (no host needed).
 */

const model = {
  kind: 'lora',
  name: 'detail',
  path: '/m/loras/detail.safetensors',
  url: 'https://civitai.com/api/download/models/135867',
  sha256: 'a'.repeat(64),
  fileSize: 300,
  downloadedAt: 't',
  lastUsed: 't',
  usageCount: 1,
  pinned: false,
};
const unverified = { verified: false, unverifiedReason: 'Civitai publishes no SHA-256 for this file' };
const job = (status: string) => ({
  jobId: '7',
  kind: 'lora',
  name: 'detail',
  status,
  progress: { bytes: 0, totalBytes: null },
  attempts: 1,
  ...(status === 'completed' ? { model } : {}),
  ...unverified,
});
const refusal = (code: string) => ({ error: { code, message: `${code.toLowerCase()} for civitai:999` } });

type Reply = [number, unknown];

describe('fetch and prefetch with references, linked answers and verification', () => {
  let server: http.Server;
  let apiUrl = '';
  let dir = '';
  let replies: Map<string, Reply[]>;
  const bodies: unknown[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'mm-cli-unit-'));
    server = http.createServer(async (req, res) => {
      let text = '';
      for await (const chunk of req) text += chunk;
      if (text) bodies.push(JSON.parse(text));
      const pathname = new URL(req.url!, 'http://x').pathname;
      const [status, body] = replies.get(`${req.method} ${pathname}`)?.shift() ?? [
        404,
        { error: { code: 'NOT_FOUND', message: `no route for ${req.method} ${pathname}` } },
      ];
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  beforeEach(() => {
    replies = new Map();
    bodies.length = 0;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  async function cli(...argv: string[]) {
    let stdout = '';
    let stderr = '';
    const code = await run(argv, {
      stdout: { write: (t: string) => (stdout += t) },
      stderr: { write: (t: string) => (stderr += t) },
      env: { API_URL: apiUrl },
    });
    return { code, stdout, stderr };
  }

  it('shows a linked model like a cached one, with its path, and says it was not verified', async () => {
    replies.set('POST /v1/fetch', [[200, { status: 'linked', model, ...unverified }]]);
    const out = await cli('fetch', 'lora', 'civitai:135867');
    expect(out.code, out.stderr).toBe(0);
    expect(bodies).toEqual([{ kind: 'lora', source: 'civitai:135867' }]);
    expect(out.stdout).toMatch(/^linked {2}lora\/detail {2}\/m\/loras\/detail\.safetensors$/m);
    expect(out.stdout).toMatch(/^1 model: 1 linked$/m);
    expect(out.stdout).toMatch(/^not verified: Civitai publishes no SHA-256 for this file$/m);
  });

  it('names a queued model as the host named it, and after --wait prints the job with its verification', async () => {
    replies.set('POST /v1/fetch', [
      [202, { status: 'queued', kind: 'lora', name: 'detail', jobId: '7', ...unverified }],
      [202, { status: 'queued', kind: 'lora', name: 'detail', jobId: '7', ...unverified }],
    ]);
    replies.set('GET /v1/jobs/7', [
      [200, job('queued')],
      [200, job('queued')],
      [200, job('completed')],
    ]);
    const queued = await cli('fetch', 'lora', 'civitai:135867');
    expect(queued.code).toBe(0);
    expect(queued.stdout).toMatch(/^queued {2}lora\/detail {2}job 7 \(follow it: model-manager status 7\)$/m);
    expect(queued.stdout).toMatch(/^not verified: Civitai publishes/m);

    // The API has no events route here: the job is polled.
    const waited = await cli('fetch', 'lora', 'civitai:135867', '--wait', '--json');
    expect(waited.code, waited.stderr).toBe(0);
    expect(JSON.parse(waited.stdout)).toEqual({ status: 'completed', jobId: '7', model, ...unverified });
  });

  it('exits 1, not 2, for refusals of the reference that are not a malformed request', async () => {
    for (const [status, code] of [
      [404, 'SOURCE_NOT_FOUND'],
      [422, 'AUTH_REQUIRED'],
      [409, 'HASH_CONFLICT'],
      [422, 'UNVERIFIED'],
    ] as const) {
      replies.set('POST /v1/fetch', [[status, refusal(code)]]);
      const out = await cli('fetch', 'lora', 'civitai:999');
      expect(out.code, code).toBe(1);
      expect(out.stderr).toBe(`model-manager: ${code}: ${code.toLowerCase()} for civitai:999\n`);
    }
  });

  it('prefetches a list of references, counting linked items and listing refusals per item', async () => {
    const file = path.join(dir, 'models.txt');
    writeFileSync(file, '# two models\nlora civitai:135867\ncheckpoint civitai:999 Missing Base\n');
    replies.set('POST /v1/batches', [
      [
        202,
        {
          batchId: 'b',
          jobs: [
            { kind: 'lora', name: 'detail', status: 'linked', verified: true },
            {
              kind: 'checkpoint',
              name: 'Missing Base',
              status: 'failed',
              error: { code: 'SOURCE_NOT_FOUND', message: 'no version 999' },
            },
          ],
        },
      ],
    ]);
    const out = await cli('prefetch', file, '--wait');
    expect(out.code).toBe(1);
    expect(bodies).toEqual([
      {
        items: [
          { kind: 'lora', source: 'civitai:135867' },
          { kind: 'checkpoint', name: 'Missing Base', source: 'civitai:999' },
        ],
      },
    ]);
    expect(out.stdout).toMatch(/^linked +lora\/detail *$/m);
    expect(out.stdout).toMatch(/^FAILED +checkpoint\/Missing Base +SOURCE_NOT_FOUND: no version 999$/m);
    expect(out.stdout).toMatch(/^2 models: 1 linked, 1 failed$/m);
    expect(out.stdout).not.toContain('not verified');
  });

  it('exits 2 naming the line of a bad reference list, before asking the API', async () => {
    const file = path.join(dir, 'bad.txt');
    writeFileSync(file, 'lora civitai:1\nlora detail-tweaker\n');
    const out = await cli('prefetch', file);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain(`model-manager: ${file}:2: "detail-tweaker" is no REF`);
    expect(bodies).toEqual([]);
  });
});
