// docker-compose.yml as CI runs it: on the host's network, so every container talks over loopback
// only and the daemon needs no bridge or iptables rules. Everything else (images, volumes,
// environment lists, read-only root, grace periods, replicas) stays as the file says.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';

type Service = Record<string, unknown> & {
  environment?: Record<string, string>;
  command?: string[];
  healthcheck?: Record<string, unknown>;
};

export interface VariantPorts {
  redis: number;
  api: number;
}

/**
 * The project's compose file with what host networking needs changed: no published ports (the
 * services listen on loopback at ports chosen free), no `build` (CI builds the images first), and
 * no top-level `name` (docker-compose 1.29 refuses it; the project is named with -p instead).
 */
export function hostNetworkVariant(repoRoot: string, ports: VariantPorts): string {
  const compose = parse(readFileSync(path.join(repoRoot, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
    name?: string;
    services: Record<string, Service>;
  };
  delete compose.name;
  for (const service of Object.values(compose.services)) {
    delete service.ports;
    delete service.build;
    service.network_mode = 'host';
  }
  const { redis, api, worker } = compose.services as Record<'redis' | 'api' | 'worker', Service>;
  redis.command = [...redis.command!, '--bind', '127.0.0.1', '--port', String(ports.redis)];
  redis.healthcheck = { ...redis.healthcheck!, test: ['CMD', 'redis-cli', '-p', String(ports.redis), 'ping'] };
  const redisUrl = `redis://127.0.0.1:${ports.redis}`;
  api.environment = { ...api.environment!, REDIS_URL: redisUrl, HOST: '127.0.0.1', PORT: String(ports.api) };
  worker.environment = { ...worker.environment!, REDIS_URL: redisUrl };
  // YAML 1.1 quoting: docker-compose 1.29 reads YAML 1.1, where a bare `yes` is a boolean.
  return stringify(compose, { version: '1.1' });
}
