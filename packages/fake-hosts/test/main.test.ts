import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const main = path.resolve(import.meta.dirname, '../dist/main.js');

/** The first `count` lines the process prints on stdout. */
function lines(child: ChildProcess, count: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    let text = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const got = text.split('\n').filter(Boolean);
      if (got.length >= count) resolve(got.slice(0, count));
    });
    child.once('exit', (code) => reject(new Error(`exited with ${code} after: ${text}`)));
  });
}

describe('main.js', () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    if (child?.exitCode === null) child.kill('SIGKILL');
  });

  it('prints the env lines, serves the example catalog, and stops on SIGTERM', async () => {
    child = spawn(
      process.execPath,
      [main, '--catalog', 'example', '--port-hf', '0', '--port-civitai', '0', '--port-storage', '0'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const env = Object.fromEntries((await lines(child, 3)).map((l) => l.split(/=(.*)/s).slice(0, 2)));
    expect(Object.keys(env)).toEqual(['HF_ENDPOINT', 'CIVITAI_ENDPOINT', 'ALLOW_PRIVATE_NETWORKS']);
    expect(env.HF_ENDPOINT).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(env.ALLOW_PRIVATE_NETWORKS).toBe('true');
    const vae = await fetch(`${env.HF_ENDPOINT}/stabilityai/sdxl-vae/resolve/main/sdxl_vae.safetensors`, {
      method: 'HEAD',
      redirect: 'manual',
    });
    expect(vae.status).toBe(302);
    expect((await fetch(`${env.CIVITAI_ENDPOINT}/api/v1/model-versions/348913`)).status).toBe(200);
    const exited = new Promise((resolve) => child!.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('refuses a bad port with its usage', async () => {
    const bad = spawn(process.execPath, [main, '--port-hf', 'x'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    bad.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise((resolve) => bad.once('exit', resolve));
    expect(code).toBe(2);
    expect(stderr).toMatch(/--port-hf: not a port: x\nusage:/);
  });
});
