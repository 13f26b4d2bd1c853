import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { servicePerSuite } from '../support/service-per-suite.js';
import { call } from '../support/service.js';

interface OldLora {
  name: string;
  url: string;
  scale: number;
}
const fixtures = path.join(import.meta.dirname, '..', 'fixtures');
const { input } = JSON.parse(readFileSync(path.join(fixtures, 'old-module-example-request.json'), 'utf8')) as {
  input: { prompt: string; checkpoint: { name: string; url: string }; loras: OldLora[] };
};
const expectedPrompt = readFileSync(path.join(fixtures, 'old-module-example-prompt.txt'), 'utf8');

describe("the Python module's example request, names as its users write them", () => {
  const suite = servicePerSuite('real-names');
  /** Civitai download URLs pointed at the loopback origin: /api/download/models/ID -> /files/ID. */
  const local = (url: string) => {
    const id = new URL(url).pathname.split('/').pop()!;
    if (!suite.origin.files.has(id)) suite.origin.addFile(id, 30_000);
    return `${suite.origin.url}/files/${id}`;
  };
  const request = () => ({
    checkpoint: { name: input.checkpoint.name, url: local(input.checkpoint.url) },
    loras: input.loras.map((lora) => ({ name: lora.name, url: local(lora.url), scale: lora.scale })),
    prompt: input.prompt,
  });

  it('prepares all nine LoRAs under their own names and builds the prompt the Python module built', async () => {
    const { svc } = suite;
    const first = await call(svc.apiUrl, 'POST', '/v1/prepare?wait=60', request());
    expect(first.status).toBe(200);
    expect(first.body.failed).toEqual([]);
    expect(first.body.checkpointPath).toBe(
      path.join(svc.modelsDir, 'checkpoints', `${input.checkpoint.name}.safetensors`),
    );
    expect(first.body.loras).toEqual(
      input.loras.map((lora) => ({
        name: lora.name,
        scale: lora.scale,
        path: path.join(svc.modelsDir, 'loras', `${lora.name}.safetensors`),
      })),
    );
    expect(first.body.prompt).toBe(expectedPrompt);
    expect(first.body.downloaded).toEqual([
      { kind: 'checkpoint', name: input.checkpoint.name },
      ...input.loras.map((lora) => ({ kind: 'lora', name: lora.name })),
    ]);
    expect(readdirSync(path.join(svc.modelsDir, 'loras')).sort()).toEqual(
      input.loras.map((l) => `${l.name}.safetensors`).sort(),
    );
    const registry = JSON.parse(readFileSync(path.join(svc.modelsDir, 'cache_registry.json'), 'utf8'));
    expect(Object.keys(registry.loras).sort()).toEqual(input.loras.map((l) => l.name).sort());

    // Asked again: nothing downloaded, the same prompt byte for byte.
    const hits = suite.origin.requests.length;
    const again = await call(svc.apiUrl, 'POST', '/v1/prepare?wait=60', request());
    expect(again.body.downloaded).toEqual([]);
    expect(again.body.prompt).toBe(expectedPrompt);
    expect(suite.origin.requests.length).toBe(hits);
  });

  it('finds, pins and lists each name through percent-encoded URL paths and the CLI', async () => {
    const { svc } = suite;
    for (const lora of input.loras) {
      const got = await call(svc.apiUrl, 'GET', `/v1/models/lora/${encodeURIComponent(lora.name)}`);
      expect(got.status, lora.name).toBe(200);
      expect(got.body.name).toBe(lora.name);
    }
    const name = 'Hand Detail FLUX & XL';
    const pinned = await runCli(['pin', 'lora', name], { API_URL: svc.apiUrl });
    expect(pinned.code, pinned.stderr).toBe(0);
    const listed = await runCli(['ls', '--json'], { API_URL: svc.apiUrl });
    const { models } = JSON.parse(listed.stdout) as { models: Array<{ name: string; pinned: boolean }> };
    expect(models.find((m) => m.name === name)?.pinned).toBe(true);
    expect(models.map((m) => m.name)).toEqual(expect.arrayContaining(input.loras.map((l) => l.name)));
    const fetched = await runCli(
      ['fetch', 'lora', '水彩画 Watercolor @ Style', local(input.loras[6]!.url), '--wait', '--json'],
      { API_URL: svc.apiUrl },
    );
    expect(fetched.code, fetched.stderr).toBe(0);
    expect(JSON.parse(fetched.stdout).status).toBe('cached');
  });

  it('keeps names out of metric labels', async () => {
    const metrics = await fetch(`${suite.svc.apiUrl}/metrics`).then((r) => r.text());
    for (const lora of input.loras) expect(metrics).not.toContain(lora.name);
  });
});
