// A real nginx on loopback: /plain/ serves the files as fast as it can, /capped/ at 100 MB/s per connection.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export async function freePort() {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

export async function startNginx({ root, workDir, capBytesPerSec }) {
  mkdirSync(workDir, { recursive: true });
  const port = await freePort();
  const conf = path.join(workDir, 'nginx.conf');
  writeFileSync(
    conf,
    `worker_processes 1;
daemon off;
pid ${workDir}/nginx.pid;
error_log ${workDir}/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  client_body_temp_path ${workDir}; proxy_temp_path ${workDir}; fastcgi_temp_path ${workDir};
  uwsgi_temp_path ${workDir}; scgi_temp_path ${workDir};
  server {
    listen 127.0.0.1:${port};
    location /plain/ { alias ${root}/; }
    location /capped/ { alias ${root}/; limit_rate ${capBytesPerSec}; }
  }
}
`,
  );
  const child = spawn('nginx', ['-c', conf], { stdio: 'ignore' });
  for (let i = 0; i < 50; i++) {
    const up = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (up) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', resolve);
        child.kill('SIGQUIT');
      }),
  };
}
