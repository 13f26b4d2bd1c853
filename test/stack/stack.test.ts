// The images as users run them: Redis, the API and two workers started from docker-compose.yml
// (its host-network variant) on the daemon .ci/containers/check started, after it built the
// images. Run by that script alone (vitest.stack.config.ts), never by `npm test`.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestOrigin } from '../support/origin.js';
import { hostNetworkVariant } from './compose-variant.js';
import { compose, docker, freePort, inImage, inspect } from './docker.js';

const KiB = 1024;
const repoRoot = path.resolve(import.meta.dirname, '../..');
const IMAGES = { api: 'model-manager-api:local', worker: 'model-manager-worker:local' } as const;
const PROJECT = 'mmci';
const work = process.env.MM_STACK_WORK ?? path.join(repoRoot, '.ci-work');

describe('the stack from docker-compose.yml', () => {
  const origin = new TestOrigin();
  const apiToken = randomBytes(24).toString('hex');
  // Never used against a real origin: there only to see which containers receive it.
  const hfToken = `hf_${randomBytes(20).toString('hex')}`;
  let stack: ReturnType<typeof compose>;
  let apiUrl = '';
  let volumeDir = '';
  const api = (method: string, route: string, body?: unknown, token: string | null = apiToken) =>
    fetch(`${apiUrl}${route}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const allContainers = async () =>
    (await Promise.all(['redis', 'api', 'worker'].map((s) => stack.containers(s)))).flat();

  beforeAll(async () => {
    await origin.start();
    const ports = { redis: await freePort(), api: await freePort() };
    apiUrl = `http://127.0.0.1:${ports.api}`;
    const dir = path.join(work, 'compose');
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'docker-compose.yml');
    writeFileSync(file, hostNetworkVariant(repoRoot, ports));
    stack = compose(PROJECT, file, {
      API_TOKEN: apiToken,
      HF_TOKEN: hfToken,
      // The test origin is on loopback, which the network policy refuses unless told otherwise.
      ALLOWED_HOSTS: '127.0.0.1',
      ALLOW_PRIVATE_NETWORKS: 'true',
      SEGMENTS: '1',
      MIN_FREE_BYTES: '0',
    });
    await stack.run('up', '-d', '--no-build');
    volumeDir = await docker('volume', 'inspect', '-f', '{{.Mountpoint}}', `${PROJECT}_models`);
  }, 180_000);

  afterAll(async () => {
    if (stack) {
      // What the containers said, for a failed run; then everything goes, volumes too.
      const logs = await stack.run('logs', '--no-color').catch((err: Error) => err.message);
      writeFileSync(path.join(work, 'stack.log'), logs);
      await stack.run('down', '--volumes', '--remove-orphans', '--timeout', '5');
    }
    await origin.close();
  }, 120_000);

  it('starts Redis, the API and two workers, each healthy by its image HEALTHCHECK', async () => {
    expect(await stack.containers('redis')).toHaveLength(1);
    expect(await stack.containers('api')).toHaveLength(1);
    expect(await stack.containers('worker')).toHaveLength(2);
    for (const id of [...(await stack.containers('api')), ...(await stack.containers('worker'))]) {
      await expect
        .poll(() => inspect(id, '{{.State.Health.Status}}'), { timeout: 90_000, interval: 1000 })
        .toBe('healthy');
    }
  });

  it('answers /readyz with 200, and a /v1 route without the token with 401', async () => {
    await expect.poll(async () => (await api('GET', '/readyz', undefined, null)).status, { timeout: 30_000 }).toBe(200);
    const refused = await api('GET', '/v1/models', undefined, null);
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED');
    expect((await api('GET', '/v1/models')).status).toBe(200);
  });

  it('fetches from a loopback origin onto the mounted volume, with its registry entry', async () => {
    const file = origin.addFile('stack-lora.safetensors', 256 * KiB);
    const res = await api('POST', '/v1/fetch?wait=60', {
      kind: 'lora',
      name: 'stack-lora',
      url: `${origin.url}/files/stack-lora.safetensors`,
      sha256: file.sha256,
    });
    const body = (await res.json()) as { status: string; model: { path: string; sha256: string } };
    expect(body).toMatchObject({
      status: 'completed',
      model: { sha256: file.sha256, path: '/workspace/models/loras/stack-lora.safetensors' },
    });
    // The same file, seen from the host through the named volume.
    expect(readFileSync(path.join(volumeDir, 'loras', 'stack-lora.safetensors')).equals(file.body)).toBe(true);
    const registry = JSON.parse(readFileSync(path.join(volumeDir, 'cache_registry.json'), 'utf8'));
    expect(registry.loras['stack-lora']).toMatchObject({ hash: file.sha256 });
  });

  it('runs every app container as a non-root user under tini, on a read-only root file system', async () => {
    for (const id of [...(await stack.containers('api')), ...(await stack.containers('worker'))]) {
      expect(await docker('exec', id, 'id', '-u')).not.toBe('0');
      expect(await docker('exec', id, 'cat', '/proc/1/comm')).toBe('tini');
      expect(await inspect(id, '{{.HostConfig.ReadonlyRootfs}}')).toBe('true');
      await expect(docker('exec', id, 'touch', '/app/written')).rejects.toThrow(/Read-only file system/);
      // The tmp folder and the volume stay writable.
      await docker('exec', id, 'touch', '/tmp/written', '/workspace/models/.written');
      await docker('exec', id, 'rm', '/tmp/written', '/workspace/models/.written');
    }
  });

  it('gives each service only its own secrets', async () => {
    const envOf = async (id: string) => (await inspect(id, '{{range .Config.Env}}{{println .}}{{end}}')).split('\n');
    const [apiId] = await stack.containers('api');
    const apiEnv = await envOf(apiId!);
    expect(apiEnv).toContain(`API_TOKEN=${apiToken}`);
    // The API asks Hugging Face and Civitai for a file's metadata before queueing it: with their tokens.
    expect(apiEnv).toContain(`HF_TOKEN=${hfToken}`);
    for (const id of await stack.containers('worker')) {
      const env = await envOf(id);
      expect(env).toContain(`HF_TOKEN=${hfToken}`);
      expect(env.filter((line) => /^(API_TOKEN|API_TOKENS_READONLY)=/.test(line))).toEqual([]);
    }
  });

  it('`stop` ends every container with exit 0 within its grace, leaving no partial file in the model folders', async () => {
    // About 4 s of download, under way when the stop comes: the worker lets it finish.
    const file = origin.addFile('stack-slow.safetensors', 1024 * KiB);
    const started = await api('POST', '/v1/fetch', {
      kind: 'checkpoint',
      name: 'stack-slow',
      url: `${origin.url}/slow/stack-slow.safetensors?ms=250&chunk=${64 * KiB}`,
      sha256: file.sha256,
    });
    const { jobId } = (await started.json()) as { jobId: string };
    await expect
      .poll(
        async () =>
          (((await (await api('GET', `/v1/jobs/${jobId}`)).json()) as { progress?: { bytes?: number } }).progress
            ?.bytes ?? 0) > 0,
        { timeout: 30_000 },
      )
      .toBe(true);
    const containers = await allContainers();
    await stack.run('stop');
    for (const id of containers) {
      expect(await inspect(id, '{{.State.Status}} {{.State.ExitCode}} {{.State.OOMKilled}}'), id).toBe(
        'exited 0 false',
      );
    }
    // Every file in a model folder is whole: the one stopped mid-download was finished.
    for (const folder of ['checkpoints', 'loras', 'embeddings']) {
      for (const name of readdirSync(path.join(volumeDir, folder))) expect(name).toMatch(/\.safetensors$/);
    }
    expect(readFileSync(path.join(volumeDir, 'checkpoints', 'stack-slow.safetensors')).equals(file.body)).toBe(true);
    expect(readdirSync(path.join(volumeDir, '.incoming')).filter((f) => f.endsWith('.part'))).toEqual([]);
  });
});

describe('the images', () => {
  const listing = async (image: string) =>
    (await inImage(image, 'find', '/app', '-path', '/app/node_modules/*/node_modules', '-prune', '-o', '-print')).split(
      '\n',
    );

  it('hold no worker code in the API image, no API code in the worker image', async () => {
    const apiFiles = await listing(IMAGES.api);
    const workerFiles = await listing(IMAGES.worker);
    expect(apiFiles).toContain('/app/apps/api/dist/main.js');
    expect(apiFiles).toContain('/app/apps/cli/bin/model-manager.js');
    expect(workerFiles).toContain('/app/apps/worker/dist/main.js');
    // undici is in both: the API uses it for the hosts' metadata calls.
    expect(apiFiles.filter((f) => /^\/app\/apps\/worker\b/.test(f))).toEqual([]);
    expect(
      workerFiles.filter((f) =>
        /^\/app\/apps\/(api|cli)\b|^\/app\/packages\/client\b|^\/app\/node_modules\/(express|@bull-board|prom-client)\b/.test(
          f,
        ),
      ),
    ).toEqual([]);
  });

  it('hold no sources and no dev dependencies', async () => {
    for (const image of Object.values(IMAGES)) {
      const files = await listing(image);
      const ours = files.filter((f) => /^\/app\/(apps|packages)\//.test(f));
      expect(
        ours.filter((f) => /^\/app\/(apps|packages)\/[^/]+\/(src|test)\b|\.tsx?$(?<!\.d\.ts)/.test(f)),
        image,
      ).toEqual([]);
      expect(
        files.filter((f) =>
          /^\/app\/node_modules\/(typescript|vitest|turbo|@types|playwright-core|supertest)\b/.test(f),
        ),
        image,
      ).toEqual([]);
      expect(
        files.filter((f) => /\/\.env$|\.npmrc$/.test(f)),
        image,
      ).toEqual([]);
    }
  });

  it('run Node.js 24 as the `node` user', async () => {
    for (const image of Object.values(IMAGES)) {
      expect(await inImage(image, 'node', '--version')).toMatch(/^v24\./);
      expect(await inspect(image, '{{.Config.User}}')).toBe('node');
    }
  });

  it('are as large as docs/deployment.md says (within 10%)', () => {
    const measured = JSON.parse(
      readFileSync(process.env.MM_STACK_IMAGE_SIZES ?? path.join(work, 'image-sizes.json'), 'utf8'),
    ) as Record<string, number>;
    const docs = readFileSync(path.join(repoRoot, 'docs', 'deployment.md'), 'utf8');
    for (const image of Object.values(IMAGES)) {
      const row = new RegExp(`\\|\\s*\`${image}\`\\s*\\|\\s*(\\d+) MB`).exec(docs);
      expect(row, `a row for ${image} in docs/deployment.md`).not.toBeNull();
      const documented = Number(row![1]) * 1e6;
      const actual = measured[image]!;
      expect(
        Math.abs(actual - documented) / actual,
        `${image}: measured ${Math.round(actual / 1e6)} MB, documented ${row![1]} MB`,
      ).toBeLessThan(0.1);
    }
  });
});

// Nothing of the stack may outlive it: checked once the stack's own afterAll ran.
describe('after the stack', () => {
  it('leaves no container and no volume of the project', async () => {
    expect(await docker('ps', '-aq', '--filter', `label=com.docker.compose.project=${PROJECT}`)).toBe('');
    expect(await docker('volume', 'ls', '-q', '--filter', `label=com.docker.compose.project=${PROJECT}`)).toBe('');
    expect(existsSync(path.join(work, 'stack.log'))).toBe(true);
  });
});
