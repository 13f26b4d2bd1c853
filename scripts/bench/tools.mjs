// Machine facts and the external tools the benchmark compares against.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';

const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

/** nginx, aria2c, curl, sha256sum and GNU time, installed from Debian's packages when missing. */
export function ensureTools(log) {
  const wanted = [
    ['nginx', 'nginx-light'],
    ['aria2c', 'aria2'],
    ['curl', 'curl'],
    ['sha256sum', 'coreutils'],
    ['/usr/bin/time', 'time'],
  ];
  const missing = wanted.filter(
    ([cmd]) => !(cmd.startsWith('/') ? spawnSync('test', ['-x', cmd]).status === 0 : has(cmd)),
  );
  if (missing.length === 0) return;
  const packages = missing.map(([, pkg]) => pkg);
  log(`installing ${packages.join(', ')} with apt-get`);
  if (process.getuid?.() !== 0)
    throw new Error(`missing ${packages.join(', ')}: install them (apt-get install ${packages.join(' ')})`);
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', '-qq', ...packages], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
}

/** First line a tool prints about itself, on stdout or stderr (nginx -v uses stderr). */
const firstLine = (cmd, args) => {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n')[0].trim() || 'unknown';
};

export function machineInfo() {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /model name\s*:\s*(.+)/.exec(cpuinfo)?.[1] ?? os.cpus()[0]?.model ?? 'unknown';
  return {
    date: new Date().toISOString(),
    cpu: model,
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 1024 ** 3),
    kernel: os.release(),
    node: process.version,
    nginx: firstLine('nginx', ['-v']).replace(/^nginx version: /, ''),
    curl: firstLine('curl', ['--version']).split(' ').slice(0, 2).join(' '),
    aria2c: firstLine('aria2c', ['--version']),
  };
}
