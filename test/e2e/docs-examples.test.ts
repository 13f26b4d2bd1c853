import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeHosts, startFakeHosts } from '@model-manager/fake-hosts';
import { safetensorsOf } from '../support/origin.js';
import { repoRoot, startService, type Service } from '../support/service.js';

/** Every ```sh block of README.md and docs/*.md that runs curl, with the JSON block that follows it (what the docs say comes back). */
function curlExamples(): Array<{ where: string; script: string; shown: string }> {
  const files = [
    'README.md',
    ...readdirSync(path.join(repoRoot, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .map((f) => `docs/${f}`),
  ];
  return files.flatMap((file) => {
    const text = readFileSync(path.join(repoRoot, file), 'utf8');
    const blocks = [...text.matchAll(/```(\w*)\n([\s\S]*?)```/g)];
    return blocks.flatMap((block, i) => {
      const [, lang, body = ''] = block;
      // Starting a second service is the quick start's business, not an example to run here.
      if (!/^(sh|bash)$/.test(lang ?? '') || !/\bcurl /.test(body) || /npm start/.test(body)) return [];
      const next = blocks[i + 1];
      const shown = next?.[1] === 'json' ? (next[2] ?? '') : '';
      return [{ where: `${file}: ${body.split('\n')[0]!.slice(0, 80)}`, script: body, shown }];
    });
  });
}

/** Civitai and Hugging Face as one loopback server: any download path is a small safetensors file; version 999999999 does not exist. */
function startModelHosts(): Promise<{ url: string; sha256Of: (path: string) => string; close: () => void }> {
  const bodies = new Map<string, Buffer>();
  const bodyOf = (p: string) => {
    if (!bodies.has(p)) bodies.set(p, safetensorsOf(64 * 1024));
    return bodies.get(p)!;
  };
  const server = http.createServer((req, res) => {
    const p = new URL(req.url!, 'http://x').pathname;
    if (p.includes('999999999')) return void res.writeHead(404).end('not found');
    res
      .writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bodyOf(p).length })
      .end(bodyOf(p));
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        sha256Of: (p) => createHash('sha256').update(bodyOf(p)).digest('hex'),
        close: () => server.close(),
      }),
    ),
  );
}

function bash(script: string, cwd: string, env: Record<string, string>): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      'bash',
      ['-eo', 'pipefail', '-c', script],
      { cwd, env: { ...process.env, ...env }, timeout: 120_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, output: `${stdout}${stderr}` });
      },
    );
  });
}

describe('every curl example in the README and docs/ runs against the real service', () => {
  let svc: Service;
  let hosts: Awaited<ReturnType<typeof startModelHosts>>;
  // `source` references (civitai:135867, hf:…) resolve against the fakes' example catalog.
  let fakes: FakeHosts;
  let work: string;

  beforeAll(async () => {
    hosts = await startModelHosts();
    fakes = await startFakeHosts({ catalog: 'example' });
    svc = await startService('docs', {
      ...fakes.env,
      DOWNLOAD_ATTEMPTS: '1',
      CLEANUP_CRON: 'off',
      MIN_FREE_BYTES: '0',
    });
    work = mkdtempSync(path.join(os.tmpdir(), 'mm-docs-'));
    // A curl on PATH that records each call's status and answer beside what it prints.
    mkdirSync(path.join(work, 'bin'));
    mkdirSync(path.join(work, 'calls'));
    writeFileSync(
      path.join(work, 'bin', 'curl'),
      `#!/bin/bash\nn="${work}/calls/$(date +%s%N)"\nprintf '%s\\n' "$*" > "$n.args"\n/usr/bin/curl -D "$n.headers" "$@" | tee "$n.body"\n`,
    );
    chmodSync(path.join(work, 'bin', 'curl'), 0o755);
    mkdirSync(path.join(work, 'Downloads'));
  });
  afterAll(async () => {
    await svc?.stop();
    hosts?.close();
    await fakes?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('finds the examples', () => {
    expect(curlExamples().length).toBeGreaterThan(15);
  });

  for (const example of curlExamples()) {
    it(example.where, async () => {
      let script = example.script
        .replaceAll('http://127.0.0.1:3000', svc.apiUrl)
        .replaceAll('http://host:3000', svc.apiUrl)
        .replaceAll('https://civitai.com', hosts.url)
        .replaceAll('https://huggingface.co', hosts.url)
        .replaceAll('/home/me/model-manager/data/models', svc.modelsDir)
        .replaceAll('~/Downloads/', `${work}/Downloads/`);
      // A model file copied in by hand, for the examples that start from one.
      for (const [, file] of script.matchAll(/Downloads\/([^\s/]+\.safetensors)/g))
        writeFileSync(path.join(work, 'Downloads', file!), safetensorsOf(32 * 1024));
      // A sha256 given with a URL is that file's real one (the docs show the real model's).
      script = script.replace(
        /("url":\s*"([^"]+)",\s*"sha256":\s*")[0-9A-Fa-f]{64}"/g,
        (_, head: string, url: string) => `${head}${hosts.sha256Of(new URL(url).pathname)}"`,
      );
      for (const f of readdirSync(path.join(work, 'calls'))) rmSync(path.join(work, 'calls', f));

      const run = await bash(script, work, { PATH: `${work}/bin:${process.env.PATH}`, API_TOKEN: '' });
      expect(run.code, run.output).toBe(0);
      const calls = readdirSync(path.join(work, 'calls')).filter((f) => f.endsWith('.headers'));
      expect(calls.length, 'curl ran').toBeGreaterThan(0);
      for (const call of calls) {
        const headers = readFileSync(path.join(work, 'calls', call), 'utf8');
        const status = Number([...headers.matchAll(/^HTTP\/[\d.]+ (\d{3})/gm)].pop()?.[1]);
        const body = readFileSync(path.join(work, 'calls', call.replace('.headers', '.body')), 'utf8');
        const what = `${readFileSync(path.join(work, 'calls', call.replace('.headers', '.args')), 'utf8').trim()} -> ${status} ${body.slice(0, 300)}`;
        // A 502 is a download that failed, as the docs show it; nothing else may be a server error.
        if (status >= 500) expect(status === 502 && body.includes('"status":"failed"'), what).toBe(true);
        expect(body, what).not.toMatch(/"no route for /);
        // A field or value the API refuses is drift, unless the example shows that refusal.
        if (body.includes('"INVALID_REQUEST"')) expect(example.shown, what).toContain('INVALID_REQUEST');
      }
    });
  }
});
