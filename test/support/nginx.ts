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

/** The /tuf/ and /log/ part of the config: the same text as the snippet in docs/DEPLOYMENT.md. */
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
    }
    # The transparency log (issue 23): tiles never change; the checkpoint and key may.
    location /log/ {
      alias ${staticDir}/log/;
      add_header Cache-Control "public, max-age=31536000, immutable";
    }
    location = /log/checkpoint {
      alias ${staticDir}/log/checkpoint;
      add_header Cache-Control "no-cache";
    }
    location = /log/key {
      alias ${staticDir}/log/key;
      add_header Cache-Control "no-cache";
    }`;
}

/** Starts nginx in the foreground on 127.0.0.1, serving `staticDir` under /tuf/. */
export async function startNginx(workDir: string, staticDir: string): Promise<RunningNginx> {
  chmodSync(staticDir, 0o755);
  return runNginx(workDir, (port) => `listen 127.0.0.1:${port};\n${tufLocations(staticDir)}`, 'http', '/tuf/root.json');
}

/**
 * The TLS proxy of docs/DEPLOYMENT.md in front of `upstream` (http://127.0.0.1:PORT), on
 * 127.0.0.1 with a self-signed certificate: the same location block as the docs (see
 * proxyLocation), with the docs' host name, port and certificate paths replaced.
 */
export async function startNginxTlsProxy(workDir: string, upstream: string, tls: { cert: string; key: string }): Promise<RunningNginx> {
  return runNginx(
    workDir,
    (port) => `listen 127.0.0.1:${port} ssl;\n    ssl_certificate     ${tls.cert};\n    ssl_certificate_key ${tls.key};\n    ${proxyLocation(upstream)}`,
    'https',
    '/healthz',
  );
}

/** The location block of docs/DEPLOYMENT.md's TLS proxy (a test checks that the docs show it). */
export function proxyLocation(upstream = 'http://127.0.0.1:8080'): string {
  return [
    'location / {',
    `        proxy_pass ${upstream};`,
    '        proxy_set_header Host $http_host;',
    '        proxy_set_header X-Forwarded-For $remote_addr;',
    '        proxy_set_header X-Forwarded-Proto $scheme;',
    '    }',
  ].join('\n');
}

async function runNginx(workDir: string, server: (port: number) => string, scheme: 'http' | 'https', readyPath: string): Promise<RunningNginx> {
  if (!NGINX_BIN) throw new Error('nginx is not installed (Debian package nginx)');
  const port = await freePort();
  for (const d of ['temp', 'logs']) mkdirSync(join(workDir, d), { recursive: true });
  // The worker may run as another user (as root, nginx switches users): let it read the files.
  chmodSync(workDir, 0o755);
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
    ${server(port)}
  }
}
`,
  );
  const child: ChildProcess = spawn(NGINX_BIN, ['-p', workDir, '-e', errorLog, '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `${scheme}://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nginx exited: ${stderr}${existsSync(errorLog) ? readFileSync(errorLog, 'utf8') : ''}`);
    if (await answers(`${url}${readyPath}`)) break;
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

/** Whether `url` answers 200 (a self-signed certificate is accepted: the proxy's own, made by the test). */
async function answers(url: string): Promise<boolean> {
  const { request } = await import(url.startsWith('https:') ? 'node:https' : 'node:http');
  return new Promise((resolve) => {
    const req = request(url, { rejectUnauthorized: false, timeout: 2_000 }, (res: import('node:http').IncomingMessage) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}
