import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestOrigin } from '../support/origin.js';
import { runCli } from '../support/cli.js';
import { startService, type Service } from '../support/service.js';

describe('the model-manager CLI as a child process against the real API and worker', () => {
  const origin = new TestOrigin();
  let svc: Service;
  let env: Record<string, string>;
  let workDir: string;

  beforeAll(async () => {
    await origin.start();
    svc = await startService('cli', { DOWNLOAD_ATTEMPTS: '1' });
    env = { API_URL: svc.apiUrl };
    workDir = mkdtempSync(path.join(os.tmpdir(), 'mm-cli-'));
  });
  afterAll(async () => {
    await svc?.stop();
    await origin.close();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it('fetch --wait draws plain progress lines on a non-terminal stderr, prints a summary and exits 0', async () => {
    const file = origin.addFile('cli-slow.safetensors', 2 * 1024 * 1024);
    // About 4 s of download: longer than one poll of the job, so at least one progress line shows.
    const url = `${origin.url}/slow/cli-slow.safetensors?ms=125&chunk=65536`;
    const run = await runCli(['fetch', 'lora', 'cli-slow', url, '--sha256', file.sha256, '--wait'], env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/^lora\/cli-slow {2}[\d.]+ (B|KiB|MiB) \/ 2\.0 MiB {2}\d+%/m);
    expect(run.stderr).toMatch(/^lora\/cli-slow {2}done {2}2\.0 MiB/m);
    // No terminal, no escape sequences.
    expect(run.stderr).not.toContain('\x1b[');
    const modelPath = path.join(svc.modelsDir, 'loras', 'cli-slow.safetensors');
    expect(run.stdout).toContain(`completed  lora/cli-slow  ${modelPath}`);
    expect(run.stdout).toMatch(/^1 model: 1 completed$/m);
    expect(existsSync(modelPath)).toBe(true);

    // Again: a cache hit, answered at once.
    const again = await runCli(['fetch', 'lora', 'cli-slow', url, '--wait', '--json'], env);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({
      status: 'cached',
      model: { path: modelPath, sha256: file.sha256 },
    });
  });

  it('fetch --wait exits 1 for the origin 404 (--json: one document) and for a wrong sha256', async () => {
    const missing = await runCli(
      ['fetch', 'checkpoint', 'cli-missing', `${origin.url}/files/nothing.safetensors`, '--wait', '--json'],
      env,
    );
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stdout), missing.stdout).toMatchObject({
      status: 'failed',
      error: { code: 'HTTP_ERROR', status: 404 },
    });
    expect(missing.stderr).toMatch(/^checkpoint\/cli-missing {2}failed {2}HTTP_ERROR: HTTP 404/m);

    origin.addFile('cli-wrong.safetensors', 100_000);
    const wrong = await runCli(
      ['fetch', 'lora', 'cli-wrong', `${origin.url}/files/cli-wrong.safetensors`, '--sha256', 'd'.repeat(64), '--wait'],
      env,
    );
    expect(wrong.code).toBe(1);
    expect(wrong.stdout).toMatch(/^FAILED {2}lora\/cli-wrong {2}HASH_MISMATCH: /m);
    expect(wrong.stdout).toMatch(/^1 model: 1 failed$/m);

    // status of the failed job: exit 1 too.
    const jobId = JSON.parse(missing.stdout).jobId as string;
    const status = await runCli(['status', jobId], env);
    expect(status.code).toBe(1);
    expect(status.stdout).toContain(`job ${jobId}  checkpoint/cli-missing  failed`);
    expect(status.stdout).toContain('error  HTTP_ERROR: HTTP 404');
  });

  it('fetch without --wait answers with the job, and status --json shows it', async () => {
    origin.addFile('cli-nowait.safetensors', 50_000);
    const run = await runCli(
      ['fetch', 'embedding', 'cli-nowait', `${origin.url}/files/cli-nowait.safetensors`, '--json'],
      env,
    );
    expect(run.code).toBe(0);
    const answer = JSON.parse(run.stdout);
    expect(['queued', 'active']).toContain(answer.status);
    const status = await runCli(['status', answer.jobId, '--json'], env);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ jobId: answer.jobId, kind: 'embedding', name: 'cli-nowait' });
    // The same request with --wait joins the job (or finds it cached).
    const joined = await runCli(
      ['fetch', 'embedding', 'cli-nowait', `${origin.url}/files/cli-nowait.safetensors`, '--wait'],
      env,
    );
    expect(joined.code).toBe(0);
  });

  it('prefetch FILE.json --wait follows a batch, lists each item and exits 1 when one failed', async () => {
    const a = origin.addFile('cli-batch-a.safetensors', 300_000);
    origin.addFile('cli-batch-b.safetensors', 200_000);
    const listFile = path.join(workDir, 'list.json');
    writeFileSync(
      listFile,
      JSON.stringify([
        {
          kind: 'checkpoint',
          name: 'cli-batch-a',
          url: `${origin.url}/files/cli-batch-a.safetensors`,
          sha256: a.sha256,
        },
        { kind: 'lora', name: 'cli-batch-b', url: `${origin.url}/files/cli-batch-b.safetensors` },
        { kind: 'lora', name: 'cli-batch-gone', url: `${origin.url}/files/gone.safetensors` },
      ]),
    );
    const run = await runCli(['prefetch', listFile, '--wait'], env);
    expect(run.code, run.stderr).toBe(1);
    expect(run.stdout).toMatch(/^completed +checkpoint\/cli-batch-a +\//m);
    expect(run.stdout).toMatch(/^FAILED +lora\/cli-batch-gone +HTTP_ERROR: HTTP 404/m);
    expect(run.stdout).toMatch(/^3 models: 2 completed, 1 failed$/m);
    expect(run.stderr).toMatch(/^lora\/cli-batch-gone {2}failed {2}HTTP_ERROR/m);

    // The {"items": [...]} form, everything cached now: exit 0, one JSON document.
    const itemsFile = path.join(workDir, 'items.json');
    writeFileSync(
      itemsFile,
      JSON.stringify({
        items: [{ kind: 'checkpoint', name: 'cli-batch-a', url: `${origin.url}/files/cli-batch-a.safetensors` }],
      }),
    );
    const cached = await runCli(['prefetch', itemsFile, '--wait', '--json'], env);
    expect(cached.code).toBe(0);
    expect(JSON.parse(cached.stdout)).toMatchObject({ jobs: [{ name: 'cli-batch-a', status: 'cached' }] });
  });

  it('ls, stats and gc --dry-run print tables for people and one JSON document with --json', async () => {
    const ls = await runCli(['ls'], env);
    expect(ls.code).toBe(0);
    expect(ls.stdout).toMatch(/^KIND +NAME +SIZE +USES +LAST USED \(UTC\) +PINNED +SHA256 +PATH$/m);
    expect(ls.stdout).toMatch(/^checkpoint +cli-batch-a +293\.0 KiB +\d+ /m);
    expect(ls.stdout).toMatch(/^lora +cli-slow +2\.0 MiB/m);

    const lsJson = await runCli(['ls', '--kind', 'lora', '--json'], env);
    expect(lsJson.code).toBe(0);
    const names = (JSON.parse(lsJson.stdout).models as Array<{ kind: string; name: string }>)
      .map((m) => `${m.kind}/${m.name}`)
      .sort();
    expect(names).toEqual(['lora/cli-batch-b', 'lora/cli-slow']);

    const stats = await runCli(['stats'], env);
    expect(stats.code).toBe(0);
    expect(stats.stdout).toMatch(/^checkpoints +1 +293\.0 KiB$/m);
    expect(stats.stdout).toMatch(/^disk +.* used of .* free$/m);
    expect(stats.stdout).toMatch(/^downloads +\d+ succeeded, \d+ failed, /m);
    const statsJson = JSON.parse((await runCli(['stats', '--json'], env)).stdout);
    expect(statsJson.loras.count).toBe(2);

    const gc = await runCli(['gc', '--dry-run', '--max-age-days', '0', '--keep-popular', '0'], env);
    expect(gc.code).toBe(0);
    expect(gc.stdout).toMatch(/would remove \d+ models, .* \(dry run: nothing was deleted\)$/m);
    const gcJson = await runCli(['gc', '--dry-run', '--json'], env);
    expect(JSON.parse(gcJson.stdout)).toEqual({ removed: [], freedBytes: 0, dryRun: true, skipped: [] });
    expect(JSON.parse((await runCli(['ls', '--json'], env)).stdout).models.length).toBe(4);
  });

  it('fetch KIND URL --name NAME, and prefetch of a KIND REF [NAME] list, say what was not verified', async () => {
    const a = origin.addFile('cli-ref-a.safetensors', 40_000);
    const fetched = await runCli(
      ['fetch', 'lora', `${origin.url}/files/cli-ref-a.safetensors`, '--name', 'cli ref a', '--wait'],
      env,
    );
    expect(fetched.code, fetched.stderr).toBe(0);
    expect(fetched.stdout).toMatch(/^completed {2}lora\/cli ref a {2}\//m);
    expect(fetched.stdout).toMatch(/^not verified: no sha256 given$/m);

    origin.addFile('cli-ref-b.safetensors', 30_000);
    const listFile = path.join(workDir, 'refs.txt');
    writeFileSync(
      listFile,
      [
        '# a list of references',
        '',
        `lora ${origin.url}/files/cli-ref-a.safetensors cli ref a`,
        `embedding ${origin.url}/files/cli-ref-b.safetensors cli ref b #2`,
      ].join('\n'),
    );
    const run = await runCli(['prefetch', listFile, '--wait'], env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^cached +lora\/cli ref a +\//m);
    expect(run.stdout).toMatch(/^completed +embedding\/cli ref b #2 +\//m);
    expect(run.stdout).toMatch(/^2 models: 1 cached, 1 completed$/m);
    expect(run.stdout).toMatch(/^not verified: embedding\/cli ref b #2: no sha256 given\b/m);

    // With the SHA-256 the cached model is verified: nothing to say.
    const verified = await runCli(
      ['fetch', 'lora', 'cli ref a', `${origin.url}/files/cli-ref-a.safetensors`, '--sha256', a.sha256],
      env,
    );
    expect(verified.code).toBe(0);
    expect(verified.stdout).toMatch(/^1 model: 1 cached$/m);
    expect(verified.stdout).not.toContain('not verified');

    // The same bytes under another name: linked at once, shown like cached.
    const linked = await runCli(
      ['fetch', 'lora', `${origin.url}/files/cli-ref-a.safetensors`, '--name', 'cli ref a copy', '--sha256', a.sha256],
      env,
    );
    expect(linked.code, linked.stderr).toBe(0);
    expect(linked.stdout).toContain(
      `linked  lora/cli ref a copy  ${path.join(svc.modelsDir, 'loras')}/cli ref a copy.`,
    );
    expect(linked.stdout).toMatch(/^1 model: 1 linked$/m);

    const bad = path.join(workDir, 'bad-refs.txt');
    writeFileSync(bad, 'lora cli-ref-a\n');
    const refused = await runCli(['prefetch', bad], env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`${bad}:1: "cli-ref-a" is no REF`);
  });

  it('exits 2 with a usage message naming what was wrong', async () => {
    const cases: Array<[string[], RegExp]> = [
      [[], /no command given/],
      [['frobnicate'], /unknown command "frobnicate"/],
      [['fetch', 'vae', 'x', 'http://o/x'], /KIND must be one of checkpoint, lora, embedding, not "vae"/],
      [['fetch', 'lora', 'x'], /fetch: missing URL/],
      [['ls', '--wait'], /ls does not take --wait/],
      [['ls', '--wiat'], /Unknown option '--wiat'/],
      [['gc', '--max-age-days', 'soon'], /--max-age-days must be a number of 0 or more, not "soon"/],
      [['prefetch', path.join(os.tmpdir(), 'no-such-list.json')], /cannot read .*no-such-list\.json/],
    ];
    for (const [args, message] of cases) {
      const run = await runCli(args, env);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr).toMatch(message);
      expect(run.stderr).toContain('Usage: model-manager COMMAND');
    }
    // A value the API refuses is a usage error too, each field named.
    const bad = await runCli(['fetch', 'lora', '../up', 'ftp://x/y', '--json'], env);
    expect(bad.code).toBe(2);
    expect(JSON.parse(bad.stdout)).toMatchObject({ error: { code: 'INVALID_REQUEST', status: 400 } });
    expect(bad.stderr).toMatch(/^ {2}name: /m);
    expect(bad.stderr).toMatch(/^ {2}url: must be an absolute http:\/\/ or https:\/\/ URL$/m);
  });

  it('exits 1 when the API cannot be reached or answers 404', async () => {
    const down = await runCli(['stats'], { API_URL: 'http://127.0.0.1:1' });
    expect(down.code).toBe(1);
    expect(down.stderr).toContain('UNREACHABLE: cannot reach the Model Manager API at http://127.0.0.1:1');
    const unknown = await runCli(['status', '987654', '--api-url', svc.apiUrl, '--json']);
    expect(unknown.code).toBe(1);
    expect(JSON.parse(unknown.stdout)).toMatchObject({ error: { code: 'NOT_FOUND', status: 404 } });
  });
});
