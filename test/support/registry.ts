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
  /** The requests served so far, `METHOD /path`, from its access log (distribution logs each one). */
  requests(): string[];
  close(): Promise<void>;
}

export interface RegistryOptions {
  /** Basic auth: one user with this password (htpasswd -B). */
  user?: { name: string; password: string };
  tls?: boolean;
  /** Token auth (the docker registry token flow): the realm, and the PEM certificate whose key signs the tokens (x5c). */
  token?: { realm: string; service: string; issuer: string; certFile: string };
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
  if (options.token) {
    const t = options.token;
    lines.push('auth:', '  token:', `    realm: ${t.realm}`, `    service: ${t.service}`, `    issuer: ${t.issuer}`, `    rootcertbundle: ${t.certFile}`);
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
    if (up) return { host, storage, caFile, requests: () => accessLog(logFile), close };
    await new Promise((r) => setTimeout(r, 100));
  }
  await close();
  throw new Error(`docker-registry did not start on ${host}: ${readFileSync(logFile, 'utf8')}`);
}

/** The access-log lines (Apache combined format) of a registry log, as `METHOD /path`. */
function accessLog(logFile: string): string[] {
  return [...readFileSync(logFile, 'utf8').matchAll(/"([A-Z]+) (\S+) HTTP\/[\d.]+"/g)].map((m) => `${m[1]} ${m[2]}`);
}

/**
 * A token service for the docker registry token flow (the registry verifies its JWTs against
 * the certificate in rootcertbundle, named in the x5c header): GET ?service&scope with basic
 * auth of one user; the token grants the scope's actions. ES256, signed with node's crypto.
 */
export async function startTokenService(work: string, user: { name: string; password: string }): Promise<{ realm: string; service: string; issuer: string; certFile: string; requests: string[]; close(): Promise<void> }> {
  const { createServer } = await import('node:http');
  const { createPrivateKey, sign, X509Certificate, randomUUID } = await import('node:crypto');
  const openssl = requireTool('openssl');
  const key = join(work, 'token.key');
  const certFile = join(work, 'token.pem');
  mkdirSync(work, { recursive: true });
  execFileSync(openssl, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', certFile, '-days', '2', '-subj', '/CN=keyshare test token issuer'], { stdio: 'pipe' });
  const privateKey = createPrivateKey(readFileSync(key));
  const der = new X509Certificate(readFileSync(certFile)).raw.toString('base64');
  const b64url = (b: Buffer) => b.toString('base64url');
  const service = 'keyshare-test-registry';
  const issuer = 'keyshare-test-issuer';
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    requests.push(url.searchParams.get('scope') ?? '');
    const expected = `Basic ${Buffer.from(`${user.name}:${user.password}`).toString('base64')}`;
    if (req.headers.authorization !== expected) {
      res.writeHead(401).end();
      return;
    }
    const [, name, actions] = /^repository:([^:]+):(.+)$/.exec(url.searchParams.get('scope') ?? '') ?? [];
    const now = Math.floor(Date.now() / 1000);
    const header = b64url(Buffer.from(JSON.stringify({ alg: 'ES256', typ: 'JWT', x5c: [der] })));
    const claims = { iss: issuer, sub: user.name, aud: url.searchParams.get('service'), exp: now + 300, nbf: now - 10, iat: now, jti: randomUUID(), access: name ? [{ type: 'repository', name, actions: actions!.split(',') }] : [] };
    const input = `${header}.${b64url(Buffer.from(JSON.stringify(claims)))}`;
    const signature = sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' });
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: `${input}.${b64url(signature)}` }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return { realm: `http://127.0.0.1:${port}/token`, service, issuer, certFile, requests, close: () => new Promise((r) => server.close(() => r())) };
}
