import { existsSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { call, startApp, type Service } from '../support/service.js';
import { servicePerSuite } from '../support/service-per-suite.js';
import { flipLastByte } from '../support/volume-files.js';

const KiB = 1024;

/** The API's access lines (`"msg":"request"`): which routes a CLI run asked for, without the query. */
function requestedPaths(svc: Service): string[] {
  return svc.api.logs.flatMap((line) => {
    try {
      const parsed = JSON.parse(line) as { msg?: string; method?: string; path?: string };
      return parsed.msg === 'request' ? [`${parsed.method} ${parsed.path}`] : [];
    } catch {
      return [];
    }
  });
}

describe('the model-manager CLI: events-driven --wait, pins, verify, scan (real API and worker)', () => {
  const suite = servicePerSuite('cli-maint');
  const { origin } = suite;
  let svc: Service;
  let env: Record<string, string>;
  const fileUrl = (name: string) => `${origin.url}/files/${name}.safetensors`;
  beforeAll(() => {
    svc = suite.svc;
    env = { API_URL: svc.apiUrl };
  });

  it('fetch --wait follows the job events stream: plain progress lines with speed and ETA, a done line, the summary', async () => {
    const file = origin.addFile('cli-sse.safetensors', 2 * 1024 * KiB);
    // 32 pieces 150 ms apart, about 5 s: the plain view prints a file's line at most every 3 s.
    const url = `${origin.url}/slow/cli-sse.safetensors?ms=150&chunk=${64 * KiB}`;
    const before = requestedPaths(svc).length;
    const run = await runCli(['fetch', 'checkpoint', 'cli-sse', url, '--sha256', file.sha256, '--wait'], env);
    expect(run.code, run.stderr).toBe(0);

    const lines = run.stderr.trimEnd().split('\n');
    const moving = lines.filter((l) => !l.includes('  done  '));
    expect(moving.length).toBeGreaterThan(0);
    // The stream's progress carries the worker's speed, so even the first line has speed and ETA.
    for (const line of moving)
      expect(line).toMatch(
        /^checkpoint\/cli-sse {2}[\d.]+ (B|KiB|MiB) \/ 2\.0 MiB {2}\d+% {2}[\d.]+ (B|KiB|MiB)\/s {2}ETA [\dhms]+$/,
      );
    expect(lines.at(-1)).toMatch(/^checkpoint\/cli-sse {2}done {2}2\.0 MiB in \d+s$/);
    expect(run.stderr).not.toContain('\x1b[');

    const modelPath = path.join(svc.modelsDir, 'checkpoints', 'cli-sse.safetensors');
    expect(run.stdout).toBe(
      `STATUS     MODEL               PATH OR ERROR\ncompleted  checkpoint/cli-sse  ${modelPath}\n1 model: 1 completed\n`,
    );

    // The stream's access line is written when the stream ends, which may be just after the CLI exits.
    const jobRoutes = () =>
      requestedPaths(svc)
        .slice(before)
        .filter((r) => r.startsWith('GET /v1/jobs/'));
    await expect.poll(jobRoutes).toHaveLength(1);
    expect(jobRoutes()[0]).toMatch(/^GET \/v1\/jobs\/[^/]+\/events$/);
  });

  it('pin and unpin: ls shows PINNED, gc keeps the pinned model and removes it once unpinned', async () => {
    origin.addFile('cli-pinned.safetensors', 64 * KiB);
    origin.addFile('cli-loose.safetensors', 32 * KiB);
    for (const name of ['cli-pinned', 'cli-loose']) {
      const fetched = await runCli(['fetch', 'lora', name, fileUrl(name), '--wait'], env);
      expect(fetched.code, fetched.stderr).toBe(0);
    }

    const pin = await runCli(['pin', 'lora', 'cli-pinned'], env);
    expect(pin.code, pin.stderr).toBe(0);
    expect(pin.stdout).toBe('pinned  lora/cli-pinned\n');
    const pinJson = await runCli(['pin', 'lora', 'cli-pinned', '--json'], env);
    expect(JSON.parse(pinJson.stdout)).toMatchObject({ kind: 'lora', name: 'cli-pinned', pinned: true });
    const missing = await runCli(['pin', 'lora', 'cli-nosuch'], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('NOT_FOUND');

    const ls = await runCli(['ls', '--kind', 'lora'], env);
    expect(ls.code).toBe(0);
    expect(ls.stdout).toMatch(/^lora +cli-pinned +64\.0 KiB +\d+ +\d{4}-\d\d-\d\d \d\d:\d\d +yes +[0-9a-f]{12} +\//m);
    expect(ls.stdout).toMatch(/^lora +cli-loose +32\.0 KiB +\d+ +\d{4}-\d\d-\d\d \d\d:\d\d +[0-9a-f]{12} +\//m);

    const gc = await runCli(['gc', '--max-age-days', '0', '--keep-popular', '0'], env);
    expect(gc.code, gc.stderr).toBe(0);
    expect(gc.stdout).toMatch(/^lora +cli-loose +32\.0 KiB +age$/m);
    expect(gc.stdout).not.toContain('cli-pinned');
    expect(existsSync(path.join(svc.modelsDir, 'loras', 'cli-pinned.safetensors'))).toBe(true);
    expect(existsSync(path.join(svc.modelsDir, 'loras', 'cli-loose.safetensors'))).toBe(false);

    const unpin = await runCli(['unpin', 'lora', 'cli-pinned'], env);
    expect(unpin.stdout).toBe('unpinned  lora/cli-pinned\n');
    expect((await runCli(['ls', '--kind', 'lora'], env)).stdout).toMatch(
      /^lora +cli-pinned +64\.0 KiB +\d+ +\d{4}-\d\d-\d\d \d\d:\d\d +[0-9a-f]{12} +\//m,
    );
    const gcJson = await runCli(['gc', '--max-age-days', '0', '--keep-popular', '0', '--json'], env);
    expect(JSON.parse(gcJson.stdout).removed.map((m: { name: string }) => m.name)).toContain('cli-pinned');
  });

  it('verify --wait exits 0 on a clean volume, 1 after a flipped byte (mismatched and quarantined); status shows the result', async () => {
    const file = origin.addFile('cli-verify.safetensors', 256 * KiB + 7);
    const fetched = await runCli(
      ['fetch', 'embedding', 'cli-verify', fileUrl('cli-verify'), '--sha256', file.sha256, '--wait', '--json'],
      env,
    );
    expect(fetched.code, fetched.stderr).toBe(0);
    const modelPath = JSON.parse(fetched.stdout).model.path as string;

    const clean = await runCli(['verify', '--wait'], env);
    expect(clean.code, clean.stdout + clean.stderr).toBe(0);
    expect(clean.stdout).toMatch(/^checked (\d+): \1 ok, 0 mismatched, 0 missing$/m);

    flipLastByte(modelPath);
    const dirty = await runCli(['verify', '--kind', 'embedding', '--wait'], env);
    expect(dirty.code, dirty.stdout + dirty.stderr).toBe(1);
    expect(dirty.stdout).toMatch(/^checked 1: 0 ok, 1 mismatched, 0 missing$/m);
    expect(dirty.stdout).toMatch(
      new RegExp(`^mismatched:\\n {2}embedding/cli-verify {2}expected ${file.sha256} {2}got [0-9a-f]{64}$`, 'm'),
    );
    const quarantine = path.join(svc.modelsDir, '.quarantine', 'embeddings');
    expect(dirty.stdout).toMatch(
      new RegExp(
        `^quarantined:\\n {2}embedding/cli-verify {2}${quarantine}/cli-verify\\.safetensors\\.\\d{8}T\\d{6}Z$`,
        'm',
      ),
    );
    expect(readdirSync(quarantine)).toHaveLength(1);
    expect(existsSync(modelPath)).toBe(false);

    // The job id is printed when not waiting; status shows the verify job and its result.
    const queued = await runCli(['verify', '--kind', 'lora'], env);
    expect(queued.code).toBe(0);
    const jobId = /queued as job (verify-\S+)/.exec(queued.stdout)?.[1];
    expect(jobId, queued.stdout).toBeDefined();
    const waited = await runCli(['verify', '--kind', 'lora', '--wait', '--json'], env);
    expect(JSON.parse(waited.stdout)).toMatchObject({
      job: 'verify',
      status: 'completed',
      result: { mismatched: [], missing: [] },
    });
    const dirtyJson = await runCli(['verify', '--kind', 'embedding', '--wait', '--json'], env);
    expect(dirtyJson.code).toBe(0); // the corrupt file is gone now: nothing left to find
    const status = await runCli(['status', jobId!], env);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(new RegExp(`^job ${jobId} {2}verify lora {2}completed`, 'm'));
    expect(status.stdout).toContain('checked');
    const statusJson = await runCli(['status', jobId!, '--json'], env);
    expect(JSON.parse(statusJson.stdout)).toMatchObject({
      jobId,
      job: 'verify',
      status: 'completed',
      result: { checked: expect.any(Number), mismatched: [] },
    });
  });

  it('scan --wait adopts a hand-copied file; status of the scan job shows what it adopted', async () => {
    const copied = origin.addFile('cli-handcopied.safetensors', 96 * KiB);
    const target = path.join(svc.modelsDir, 'loras', 'cli-handcopied.safetensors');
    writeFileSync(target, copied.body);
    // Scan leaves files modified in the last 5 s alone (maybe still being copied): this one is older.
    const past = new Date(Date.now() - 60_000);
    utimesSync(target, past, past);

    const run = await runCli(['scan', '--wait'], env);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^adopted 1, dropped \d+, size drift 0, skipped 0$/m);
    expect(run.stdout).toContain(`adopted:\n  lora/cli-handcopied  96.0 KiB  ${target}`);
    expect(run.stderr).toMatch(/^scan: job scan-\S+ running/m);

    const ls = await runCli(['ls', '--kind', 'lora', '--json'], env);
    expect(JSON.parse(ls.stdout).models).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'cli-handcopied', sha256: copied.sha256, path: target }),
      ]),
    );

    const queued = await runCli(['scan', '--json'], env);
    const { jobId } = JSON.parse(queued.stdout) as { jobId: string };
    expect(jobId).toMatch(/^scan-/);
    const status = await runCli(['status', jobId], env);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(new RegExp(`^job ${jobId} {2}scan {2}(queued|active|completed)`, 'm'));
  });

  it('scan --wait right after a copy says which file it left alone and why, rather than adopting nothing silently', async () => {
    const target = path.join(svc.modelsDir, 'loras', 'cli-just-copied.safetensors');
    writeFileSync(target, origin.addFile('cli-just-copied.safetensors', 8 * KiB).body);

    const run = await runCli(['scan', '--wait'], env);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^adopted 0, dropped \d+, size drift 0, skipped 1$/m);
    expect(run.stdout).toMatch(
      /^skipped \(not adopted\):\n {2}lora\/cli-just-copied\.safetensors {2}modified \d+ s ago, still being copied\?/m,
    );
  });
});

describe('the model-manager CLI: gc --quota', () => {
  const suite = servicePerSuite('cli-quota');
  const { origin } = suite;

  it('evicts down to CACHE_MAX_BYTES with the REASON column, lists what it kept and why, exits 1 while still over', async () => {
    const svc = suite.svc;
    // Fetched in this order, so q-old is the least recently used and q-new the most.
    for (const name of ['q-old', 'q-mid', 'q-new']) {
      origin.addFile(`${name}.safetensors`, 64 * KiB);
      const fetched = await runCli(['fetch', 'lora', name, `${origin.url}/files/${name}.safetensors`, '--wait'], {
        API_URL: svc.apiUrl,
      });
      expect(fetched.code, fetched.stderr).toBe(0);
    }
    expect((await runCli(['pin', 'lora', 'q-old'], { API_URL: svc.apiUrl })).code).toBe(0);
    // A job holds q-new, as a handler would with fetch({ lease: true }).
    const held = await call(svc.apiUrl, 'POST', '/v1/fetch', {
      kind: 'lora',
      name: 'q-new',
      url: `${origin.url}/files/q-new.safetensors`,
      lease: true,
    });
    expect(held.body).toMatchObject({ status: 'cached', leaseId: expect.any(String) });

    // The same volume under a quota of one model and a half, without the grace period for young
    // models: an API restarted with new limits, as an operator would after changing them.
    await svc.api.stop();
    svc.api = startApp('api', { ...svc.env, CACHE_MAX_BYTES: String(100 * KiB), EVICTION_GRACE_SECONDS: '0' });
    svc.apiUrl = `http://127.0.0.1:${(await svc.api.waitForLog('api listening')).port as number}`;
    const env = { API_URL: svc.apiUrl };

    // Pinned and leased models stay, so removing q-mid is not enough: exit 1, and why.
    const dry = await runCli(['gc', '--quota', '--dry-run'], env);
    expect(dry.code, dry.stderr).toBe(1);
    expect(dry.stdout).toBe(
      [
        'KIND  NAME   SIZE      REASON',
        'lora  q-mid  64.0 KiB  max-bytes',
        'would remove 1 model, 64.0 KiB (dry run: nothing was deleted)',
        'kept:',
        '  lora/q-old  pinned',
        '  lora/q-new  leased',
        'still over CACHE_MAX_BYTES or under MIN_FREE_BYTES: everything else is pinned, leased, too young or being fetched',
        '',
      ].join('\n'),
    );
    const dryJson = JSON.parse((await runCli(['gc', '--quota', '--dry-run', '--json'], env)).stdout);
    expect(dryJson).toMatchObject({
      dryRun: true,
      fits: false,
      skipped: [
        { name: 'q-old', reason: 'pinned' },
        { name: 'q-new', reason: 'leased' },
      ],
    });

    // The job is done with q-new: both unpinned models go, least recently used first.
    expect((await call(svc.apiUrl, 'DELETE', `/v1/leases/${held.body.leaseId}`)).status).toBe(204);
    const run = await runCli(['gc', '--quota', '--json'], env);
    expect(run.code, run.stderr).toBe(0);
    const answer = JSON.parse(run.stdout);
    expect(answer).toMatchObject({
      removed: [
        { kind: 'lora', name: 'q-mid', fileSize: 64 * KiB, reason: 'max-bytes', pinned: false },
        { kind: 'lora', name: 'q-new', fileSize: 64 * KiB, reason: 'max-bytes', pinned: false },
      ],
      freedBytes: 128 * KiB,
      dryRun: false,
      skipped: [{ kind: 'lora', name: 'q-old', reason: 'pinned' }],
      fits: true,
    });
    for (const m of answer.removed) expect(existsSync(m.path)).toBe(false);
    const left = JSON.parse((await runCli(['ls', '--json'], env)).stdout).models.map((m: { name: string }) => m.name);
    expect(left).toEqual(['q-old']);

    // Under the quota now: nothing more to do.
    const again = await runCli(['gc', '--quota'], env);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe('nothing to remove\n');
  });
});
