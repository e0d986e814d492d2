/**
 * Debian's nginx as a real static server for tests: its own generated config, temp dirs and a
 * free loopback port, serving a directory under /tuf/ with the location block that
 * docs/DEPLOYMENT.md recommends.
 */
import { toolPath } from './system-tools.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

export const NGINX_BIN = toolPath('nginx');

export interface RunningNginx {
  url: string;
  close(): Promise<void>;
  errorLog(): string;
}

export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** The /tuf/ part of the config: the same text as the snippet in docs/DEPLOYMENT.md. */
export function tufLocations(staticDir: string): string {
  return `
    # Versioned files never change: cache them for a year.
    location /tuf/ {
      alias ${staticDir}/;
      add_header Cache-Control "public, max-age=31536000, immutable";
    }
    # timestamp.json (and the convenience root.json) change with every publish.
    location = /tuf/timestamp.json {
      alias ${staticDir}/timestamp.json;
      add_header Cache-Control "no-cache";
    }
    location = /tuf/root.json {
      alias ${staticDir}/root.json;
      add_header Cache-Control "no-cache";
    }`;
}

/** Starts nginx in the foreground on 127.0.0.1, serving `staticDir` under /tuf/. */
export async function startNginx(workDir: string, staticDir: string): Promise<RunningNginx> {
  if (!NGINX_BIN) throw new Error('nginx is not installed (Debian package nginx)');
  const port = await freePort();
  for (const d of ['temp', 'logs']) mkdirSync(join(workDir, d), { recursive: true });
  // The worker may run as another user (as root, nginx switches users): let it read the files.
  for (const d of [workDir, staticDir]) chmodSync(d, 0o755);
  const errorLog = join(workDir, 'logs', 'error.log');
  const temp = join(workDir, 'temp');
  const conf = join(workDir, 'nginx.conf');
  writeFileSync(
    conf,
    `
${process.getuid?.() === 0 ? 'user root root;' : ''}
daemon off;
worker_processes 1;
pid ${join(workDir, 'nginx.pid')};
error_log ${errorLog} warn;
events { worker_connections 128; }
http {
  access_log off;
  client_body_temp_path ${temp}/body;
  proxy_temp_path ${temp}/proxy;
  fastcgi_temp_path ${temp}/fastcgi;
  uwsgi_temp_path ${temp}/uwsgi;
  scgi_temp_path ${temp}/scgi;
  types { application/json json; application/pkix-crl crl; }
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:${port};
${tufLocations(staticDir)}
  }
}
`,
  );
  const child: ChildProcess = spawn(NGINX_BIN, ['-p', workDir, '-e', errorLog, '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nginx exited: ${stderr}${existsSync(errorLog) ? readFileSync(errorLog, 'utf8') : ''}`);
    try {
      const res = await fetch(`${url}/tuf/root.json`);
      await res.arrayBuffer();
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`nginx did not start: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    errorLog: () => (existsSync(errorLog) ? readFileSync(errorLog, 'utf8') : ''),
    async close() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}
