// The docker and docker-compose commands the stack checks run, against the daemon that
// .ci/containers/check started (DOCKER_HOST).
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { promisify } from 'node:util';

const run = promisify(execFile);
const DOCKER = process.env.MM_STACK_DOCKER ?? 'docker';

export async function docker(...args: string[]): Promise<string> {
  return (await run(DOCKER, args, { maxBuffer: 64 * 1024 * 1024 })).stdout.trim();
}

/** `docker inspect -f FORMAT` of one container or image. */
export async function inspect(target: string, format: string): Promise<string> {
  return docker('inspect', '-f', format, target);
}

/** A command in a throw-away container of `image`, with no network: what the image holds. */
export async function inImage(image: string, ...command: string[]): Promise<string> {
  return docker('run', '--rm', '--network', 'none', '--entrypoint', command[0]!, image, ...command.slice(1));
}

export function compose(project: string, file: string, env: Record<string, string>) {
  const composeRun = async (...args: string[]) =>
    (
      await run('docker-compose', ['-p', project, '-f', file, ...args], {
        env: { ...process.env, ...env },
        maxBuffer: 16 * 1024 * 1024,
      })
    ).stdout.trim();
  return {
    run: composeRun,
    /** The container ids of a service, in no particular order. */
    containers: async (service: string) => (await composeRun('ps', '-q', service)).split('\n').filter(Boolean),
  };
}

/** A TCP port free on loopback right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
