/**
 * Debian's docker-registry (distribution 2.8) on loopback for the OCI tests: a temp config and
 * storage dir, a free port, optionally htpasswd basic auth and TLS with a certificate from a
 * self-signed CA (made with openssl). One registry per test file, or two for mirroring.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './nginx.js';
import { requireTool } from './system-tools.js';

export interface RunningRegistry {
  /** `127.0.0.1:port` */
  host: string;
  /** The storage root (docker/registry/v2/...), for tests that damage what is stored. */
  storage: string;
  /** With TLS: the CA that signed the registry's certificate (PEM file). */
  caFile: string | null;
  close(): Promise<void>;
}

export interface RegistryOptions {
  /** Basic auth: one user with this password (htpasswd -B). */
  user?: { name: string; password: string };
  tls?: boolean;
}

function makeTls(dir: string): { cert: string; key: string; ca: string } {
  const openssl = requireTool('openssl');
  const f = (n: string) => join(dir, n);
  const run = (args: string[]) => execFileSync(openssl, args, { stdio: 'pipe' });
  run(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '2', '-subj', '/CN=keyshare test registry CA']);
  run(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', f('tls.key'), '-out', f('tls.csr'), '-subj', '/CN=127.0.0.1']);
  writeFileSync(f('ext.cnf'), 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n');
  run(['x509', '-req', '-in', f('tls.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('tls.pem'), '-days', '2', '-extfile', f('ext.cnf')]);
  return { cert: f('tls.pem'), key: f('tls.key'), ca: f('ca.pem') };
}

export async function startRegistry(work: string, options: RegistryOptions = {}): Promise<RunningRegistry> {
  const bin = requireTool('docker-registry');
  mkdirSync(work, { recursive: true });
  const storage = join(work, 'storage');
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const lines = ['version: 0.1', 'log:', '  level: error', 'storage:', '  filesystem:', `    rootdirectory: ${storage}`, '  delete:', '    enabled: true', 'http:', `  addr: ${host}`];
  let caFile: string | null = null;
  if (options.tls) {
    const tls = makeTls(work);
    caFile = tls.ca;
    lines.push('  tls:', `    certificate: ${tls.cert}`, `    key: ${tls.key}`);
  }
  if (options.user) {
    const htpasswd = join(work, 'htpasswd');
    execFileSync(requireTool('htpasswd'), ['-Bbc', htpasswd, options.user.name, options.user.password], { stdio: 'pipe' });
    lines.push('auth:', '  htpasswd:', '    realm: keyshare-test', `    path: ${htpasswd}`);
  }
  const config = join(work, 'registry.yml');
  writeFileSync(config, lines.join('\n') + '\n');
  const logFile = join(work, 'registry.log');
  const log = openSync(logFile, 'a');
  const child: ChildProcess = spawn(bin, ['serve', config], { stdio: ['ignore', log, log] });
  const close = async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (child.exitCode === null) child.kill('SIGKILL');
  };
  // Up when /v2/ answers at all (200, or 401 with auth); the TCP check is enough for TLS too.
  const { connect } = await import('node:net');
  for (const deadline = Date.now() + 20_000; Date.now() < deadline; ) {
    if (child.exitCode !== null) break;
    const up = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => (s.end(), resolve(true)));
      s.on('error', () => resolve(false));
    });
    if (up) return { host, storage, caFile, close };
    await new Promise((r) => setTimeout(r, 100));
  }
  await close();
  throw new Error(`docker-registry did not start on ${host}: ${readFileSync(logFile, 'utf8')}`);
}
