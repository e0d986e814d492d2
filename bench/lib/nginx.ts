/** The B1 static baseline: nginx serving a `--static-dir` copy under /tuf/ (one worker, like one node process). */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, which } from './proc.js';
import { sleep } from './stats.js';

export interface Nginx {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

export async function startNginx(staticDir: string, workDir: string): Promise<Nginx | string> {
  const bin = (await which('nginx')) ?? ((await which('/usr/sbin/nginx')) ? '/usr/sbin/nginx' : null);
  if (!bin) return 'nginx: not installed';
  const port = await freePort();
  mkdirSync(join(workDir, 'logs'), { recursive: true });
  const conf = join(workDir, 'nginx.conf');
  writeFileSync(
    conf,
    [
      process.getuid?.() === 0 ? 'user root;' : '',
      'worker_processes 1;',
      'daemon off;',
      `pid ${join(workDir, 'nginx.pid')};`,
      `error_log ${join(workDir, 'logs/error.log')} warn;`,
      'events { worker_connections 1024; }',
      'http {',
      '  access_log off;',
      '  sendfile on; tcp_nopush on; keepalive_requests 1000000;',
      '  default_type application/json;',
      `  client_body_temp_path ${join(workDir, 'tmp-body')}; proxy_temp_path ${join(workDir, 'tmp-proxy')};`,
      `  fastcgi_temp_path ${join(workDir, 'tmp-fcgi')}; uwsgi_temp_path ${join(workDir, 'tmp-uwsgi')}; scgi_temp_path ${join(workDir, 'tmp-scgi')};`,
      `  server { listen 127.0.0.1:${port}; location /tuf/ { alias ${staticDir}/; etag on; } }`,
      '}',
      '',
    ].join('\n'),
  );
  const proc = spawn(bin, ['-p', workDir, '-c', conf, '-e', join(workDir, 'logs/error.log')], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    if (proc.exitCode !== null) return `nginx: failed to start (exit ${proc.exitCode}, see ${workDir}/logs/error.log)`;
    try {
      await fetch(`${url}/tuf/timestamp.json`);
      break;
    } catch {
      await sleep(100);
    }
  }
  return {
    url,
    pid: proc.pid!,
    async stop() {
      if (proc.exitCode !== null) return;
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    },
  };
}
