/**
 * A small, complete client for the push and pull endpoints of the OCI distribution spec 1.1
 * (node's own http/https; no kept npm distribution client fits: @sigstore/oci pushes only
 * sigstore bundles): manifests by tag or digest, blob existence, chunked blob upload
 * (POST, PATCH with Content-Range, PUT ?digest=), and blob download checked against its
 * descriptor's size and digest while it streams.
 *
 * Auth: anonymous first; on a 401 the challenge says Basic or Bearer (the registry token flow:
 * a token for `repository:<name>:pull[,push]` from the realm, with the credentials if any).
 * TLS is verified (the system CAs, or `ca`); `insecure` means plain HTTP and is refused for
 * any host but loopback. Every read from the registry is capped before it is parsed.
 */
import { sha256Digest, sha256Stream } from '../../shared/hash.js';
import { closeSync, createWriteStream, openSync, readSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { KeyshareError, Codes } from '../../service/errors.js';
import { BundleCodes } from '../../shared/bundle/errors.js';
import { MAX_MANIFEST_BYTES, OCI_MANIFEST_MEDIA_TYPE, type Descriptor } from '../../shared/oci/artifact.js';
import { parseChallenge, storedCredentials, type Challenge, type Credentials } from './auth.js';
import { OciCodes, ociError, type OciCode } from '../../shared/oci/errors.js';
import { DIGEST, TAG, isLoopback, type OciReference } from '../../shared/oci/reference.js';

export interface RegistryOptions {
  /** PEM CA certificate(s) for the registry's TLS certificate (default: the system's CAs). */
  ca?: Buffer;
  /** Plain HTTP: for a registry on loopback only (tests). */
  insecure?: boolean;
  /** Given credentials; undefined: the stored ones (auth.ts), null: anonymous only. */
  credentials?: Credentials | null;
  /** Idle time before a request is abandoned (default 30 s). */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

/** Upload chunk size: one PATCH each (OCI distribution spec "Pushing a blob in chunks"). */
export const CHUNK_BYTES = 8 * 1024 * 1024;
const MAX_SMALL_BODY = 1024 * 1024;
const MAX_REDIRECTS = 5;
const MAX_TAG_PAGES = 10;
const ACCEPT = [OCI_MANIFEST_MEDIA_TYPE, 'application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.v2+json', 'application/vnd.docker.distribution.manifest.list.v2+json'].join(', ');
const TLS_ERRORS = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|SELF_SIGNED_|DEPTH_ZERO_|EPROTO$)/;

export { sha256Digest };

type Headers = Record<string, string | number>;

export class RegistryClient {
  private readonly base: URL;
  private authorization: string | null = null;
  private credentials: Credentials | null | undefined;

  /** `push`: ask the token service for push rights too. */
  constructor(
    readonly ref: OciReference,
    private readonly options: RegistryOptions = {},
    private readonly push = false,
  ) {
    if (options.insecure && !isLoopback(ref.hostname)) throw new KeyshareError(Codes.BAD_REQUEST, `--insecure (plain HTTP) is for a registry on loopback only, not ${ref.registry}`);
    this.base = new URL(`${options.insecure ? 'http' : 'https'}://${ref.registry}/v2/${ref.repository}/`);
    this.credentials = options.credentials;
  }

  private url(path: string): URL {
    return new URL(path, this.base);
  }

  private transportError(e: unknown, url: URL): KeyshareError {
    if (e instanceof KeyshareError) return e;
    const code = (e as NodeJS.ErrnoException).code ?? '';
    const text = `${code} ${(e as Error).message}`.trim();
    if (TLS_ERRORS.test(code)) return ociError(OciCodes.REGISTRY_TLS, `the TLS connection to ${url.host} failed: ${text} (give the registry's CA with --ca)`, e);
    return ociError(OciCodes.REGISTRY_UNAVAILABLE, `cannot reach the registry ${url.host}: ${text}`, e);
  }

  private raw(method: string, url: URL, headers: Headers, body?: Buffer): Promise<http.IncomingMessage> {
    return new Promise((resolve, reject) => {
      const send = url.protocol === 'https:' ? https.request : http.request;
      const req = send(url, {
        method,
        headers: { ...headers, ...(body !== undefined || method === 'PUT' || method === 'POST' || method === 'PATCH' ? { 'content-length': body?.length ?? 0 } : {}) },
        ca: this.options.ca,
        timeout: this.options.timeoutMs ?? 30_000,
      });
      req.on('response', resolve);
      req.on('timeout', () => req.destroy(ociError(OciCodes.REGISTRY_UNAVAILABLE, `${method} ${url.host}${url.pathname} timed out`)));
      req.on('error', (e) => reject(this.transportError(e, url)));
      req.end(body);
    });
  }

  /** One request with the auth flow: on a 401, authorize from its challenge and try once more. */
  private async request(method: string, url: URL, headers: Headers = {}, body?: Buffer): Promise<http.IncomingMessage> {
    for (let attempt = 0; ; attempt++) {
      const sameHost = url.host === this.base.host;
      const res = await this.raw(method, url, { ...headers, ...(this.authorization && sameHost ? { authorization: this.authorization } : {}) }, body);
      if (res.statusCode !== 401 || attempt > 0 || !sameHost) return res;
      res.resume();
      const challenge = parseChallenge(res.headers['www-authenticate']);
      if (!challenge) return res;
      this.authorization = await this.authorize(challenge);
    }
  }

  private async creds(): Promise<Credentials | null> {
    if (this.credentials === undefined) this.credentials = await storedCredentials(this.ref.registry, this.ref.repository, this.options.env);
    return this.credentials;
  }

  private async authorize(challenge: Challenge): Promise<string> {
    const creds = await this.creds();
    const basic = creds && `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
    if (challenge.scheme === 'basic') {
      if (!basic) throw ociError(OciCodes.REGISTRY_AUTH_FAILED, `${this.ref.registry} wants credentials: give --username with --password-stdin, or log in (containers-auth.json, docker config)`);
      return basic;
    }
    // Docker registry token authentication: GET realm?service=..&scope=.. (with basic credentials if any).
    let realm: URL;
    try {
      realm = new URL(challenge.params.realm ?? '');
    } catch {
      throw ociError(OciCodes.REGISTRY_PROTOCOL, `${this.ref.registry} sent a Bearer challenge without a usable realm`);
    }
    if (realm.protocol !== 'https:' && !(realm.protocol === 'http:' && isLoopback(realm.hostname))) {
      throw ociError(OciCodes.REGISTRY_PROTOCOL, `${this.ref.registry} sends us for a token to ${realm.origin}: only https (or loopback) token services are used`);
    }
    if (challenge.params.service) realm.searchParams.set('service', challenge.params.service);
    realm.searchParams.set('scope', `repository:${this.ref.repository}:${this.push ? 'pull,push' : 'pull'}`);
    const res = await this.raw('GET', realm, basic ? { authorization: basic } : {});
    if (res.statusCode !== 200) {
      res.resume();
      throw ociError(OciCodes.REGISTRY_AUTH_FAILED, `the token service ${realm.host} refused ${creds ? `the credentials of ${creds.username}` : 'an anonymous token'} (HTTP ${res.statusCode})`);
    }
    const body = await readCapped(res, MAX_SMALL_BODY, () => ociError(OciCodes.REGISTRY_PROTOCOL, `the token service ${realm.host} sent over 1 MiB`));
    let token: unknown;
    try {
      const json = JSON.parse(body.toString('utf8')) as { token?: unknown; access_token?: unknown };
      token = json.token ?? json.access_token;
    } catch {
      token = undefined;
    }
    if (typeof token !== 'string' || token.length === 0 || /[\r\n]/.test(token)) throw ociError(OciCodes.REGISTRY_PROTOCOL, `the token service ${realm.host} sent no token`);
    return `Bearer ${token}`;
  }

  /** The coded error of an unexpected answer (OCI distribution spec "Error Codes"). */
  private async failure(res: http.IncomingMessage, what: string, notFound: OciCode): Promise<KeyshareError> {
    const body = await readCapped(res, 64 * 1024, () => null).catch(() => Buffer.alloc(0));
    let codes: string[] = [];
    let detail = '';
    try {
      const errors = (JSON.parse(body.toString('utf8')) as { errors?: { code?: string; message?: string }[] }).errors ?? [];
      codes = errors.map((e) => String(e.code));
      detail = errors.map((e) => `${e.code}: ${e.message}`).join('; ').slice(0, 300);
    } catch {
      // not a JSON error body
    }
    const status = res.statusCode ?? 0;
    const says = `${what}: HTTP ${status}${detail ? ` (${detail})` : ''}`;
    if (status === 401 || status === 403) return ociError(OciCodes.REGISTRY_AUTH_FAILED, `${this.ref.registry} refused ${says}`);
    if (status === 404 || codes.includes('MANIFEST_UNKNOWN') || codes.includes('BLOB_UNKNOWN') || codes.includes('NAME_UNKNOWN')) {
      const code = codes.includes('BLOB_UNKNOWN') ? OciCodes.OCI_BLOB_UNKNOWN : codes.includes('MANIFEST_UNKNOWN') || codes.includes('NAME_UNKNOWN') ? OciCodes.OCI_MANIFEST_UNKNOWN : notFound;
      return ociError(code, `${this.ref.registry}/${this.ref.repository} has no ${says}`);
    }
    if (status >= 500 || status === 429) return ociError(OciCodes.REGISTRY_UNAVAILABLE, `${this.ref.registry} failed ${says}`);
    return ociError(OciCodes.REGISTRY_PROTOCOL, `${this.ref.registry} answered ${says}`);
  }

  /** HEAD of a manifest: its digest (Docker-Content-Digest), or null when the tag does not exist. */
  async headManifest(reference: string): Promise<{ digest: string | null } | null> {
    const res = await this.request('HEAD', this.url(`manifests/${reference}`), { accept: ACCEPT });
    res.resume();
    if (res.statusCode === 404) return null;
    if (res.statusCode !== 200) throw await this.failure(res, `manifest ${reference}`, OciCodes.OCI_MANIFEST_UNKNOWN);
    const digest = header(res, 'docker-content-digest');
    return { digest: digest && DIGEST.test(digest) ? digest : null };
  }

  /** A manifest's bytes, checked against the digest that names it (the reference, or the registry's header). */
  async getManifest(reference: string): Promise<{ bytes: Buffer; digest: string }> {
    const res = await this.request('GET', this.url(`manifests/${reference}`), { accept: ACCEPT });
    if (res.statusCode !== 200) throw await this.failure(res, `manifest ${reference}`, OciCodes.OCI_MANIFEST_UNKNOWN);
    const tooLarge = () => new KeyshareError(BundleCodes.BUNDLE_TOO_LARGE, `the manifest ${reference} is over ${MAX_MANIFEST_BYTES} bytes`);
    if (Number(res.headers['content-length'] ?? 0) > MAX_MANIFEST_BYTES) {
      res.destroy();
      throw tooLarge();
    }
    const bytes = await readCapped(res, MAX_MANIFEST_BYTES, tooLarge);
    const digest = sha256Digest(bytes);
    const claimed = DIGEST.test(reference) ? reference : header(res, 'docker-content-digest');
    if (claimed && claimed.startsWith('sha256:') && claimed !== digest) {
      throw ociError(OciCodes.OCI_DIGEST_MISMATCH, `the manifest ${reference} hashes to ${digest}, not ${claimed}`);
    }
    return { bytes, digest };
  }

  async putManifest(reference: string, bytes: Buffer): Promise<string> {
    const res = await this.request('PUT', this.url(`manifests/${reference}`), { 'content-type': OCI_MANIFEST_MEDIA_TYPE }, bytes);
    if (res.statusCode !== 201) throw await this.failure(res, `manifest ${reference} (upload)`, OciCodes.OCI_MANIFEST_UNKNOWN);
    res.resume();
    const digest = sha256Digest(bytes);
    const stored = header(res, 'docker-content-digest');
    if (stored && stored !== digest) throw ociError(OciCodes.OCI_DIGEST_MISMATCH, `${this.ref.registry} stored the manifest as ${stored}, not ${digest}`);
    return digest;
  }

  /**
   * The repository's tags (OCI distribution spec "Listing Tags"), following `Link: <...>;
   * rel="next"` for at most MAX_TAG_PAGES pages of at most 1 MiB each.
   */
  async listTags(): Promise<string[]> {
    const tags: string[] = [];
    let url: URL | null = this.url('tags/list?n=1000');
    for (let page = 0; url && page < MAX_TAG_PAGES; page++) {
      const res = await this.request('GET', url);
      if (res.statusCode !== 200) throw await this.failure(res, 'tags list', OciCodes.OCI_MANIFEST_UNKNOWN);
      const body = await readCapped(res, MAX_SMALL_BODY, () => ociError(OciCodes.REGISTRY_PROTOCOL, `${this.ref.registry} sent a tags list over 1 MiB`));
      let listed: unknown;
      try {
        listed = (JSON.parse(body.toString('utf8')) as { tags?: unknown }).tags;
      } catch (e) {
        throw ociError(OciCodes.REGISTRY_PROTOCOL, `${this.ref.registry} sent a tags list that is not JSON`, e);
      }
      if (listed !== null && listed !== undefined && !Array.isArray(listed)) throw ociError(OciCodes.REGISTRY_PROTOCOL, `${this.ref.registry} sent a tags list without a tags array`);
      for (const t of (listed ?? []) as unknown[]) if (typeof t === 'string' && TAG.test(t)) tags.push(t);
      const next = /<([^>]+)>\s*;\s*rel="?next"?/.exec(header(res, 'link') ?? '');
      url = next ? new URL(next[1]!, this.base) : null;
      if (url && url.origin !== this.base.origin) throw ociError(OciCodes.REGISTRY_PROTOCOL, `${this.ref.registry} sends the next tags page to another host (${url.host})`);
    }
    return tags;
  }

  async hasBlob(digest: string): Promise<boolean> {
    const res = await this.request('HEAD', this.url(`blobs/${digest}`));
    res.resume();
    if (res.statusCode === 200) return true;
    if (res.statusCode === 404) return false;
    throw await this.failure(res, `blob ${digest}`, OciCodes.OCI_BLOB_UNKNOWN);
  }

  /**
   * Uploads a blob unless the registry has it: in one PUT when it fits one chunk, else in
   * PATCHes of CHUNK_BYTES with Content-Range, closed by PUT ?digest=, which the registry
   * checks against what it received.
   */
  async pushBlob(source: { bytes: Buffer } | { file: string }, digest: string, size: number): Promise<void> {
    if (await this.hasBlob(digest)) return;
    const started = await this.request('POST', this.url('blobs/uploads/'));
    if (started.statusCode !== 202) throw await this.failure(started, 'blob upload', OciCodes.OCI_MANIFEST_UNKNOWN);
    started.resume();
    let location = this.location(started);
    const read = chunkReader(source, size);
    try {
      let offset = 0;
      let body: Buffer | undefined;
      if (size > CHUNK_BYTES) {
        for (; offset < size; ) {
          const chunk = read(offset, Math.min(CHUNK_BYTES, size - offset));
          const res = await this.request('PATCH', location, { 'content-type': 'application/octet-stream', 'content-range': `${offset}-${offset + chunk.length - 1}` }, chunk);
          if (res.statusCode !== 202) throw await this.failure(res, `blob ${digest} (chunk at ${offset})`, OciCodes.OCI_BLOB_UNKNOWN);
          res.resume();
          location = this.location(res);
          offset += chunk.length;
        }
      } else {
        body = read(0, size);
      }
      location.searchParams.set('digest', digest);
      const done = await this.request('PUT', location, { 'content-type': 'application/octet-stream' }, body ?? Buffer.alloc(0));
      if (done.statusCode !== 201) throw await this.failure(done, `blob ${digest} (upload)`, OciCodes.OCI_BLOB_UNKNOWN);
      done.resume();
    } finally {
      read.close();
    }
  }

  private location(res: http.IncomingMessage): URL {
    const loc = header(res, 'location');
    if (!loc) throw ociError(OciCodes.REGISTRY_PROTOCOL, `${this.ref.registry} started an upload without a Location`);
    const url = new URL(loc, this.base);
    if (url.origin !== this.base.origin) throw ociError(OciCodes.REGISTRY_PROTOCOL, `${this.ref.registry} sends the upload to another host (${url.host})`);
    return url;
  }

  /**
   * Downloads a blob to `dest`: refused before any byte when its descriptor is over `maxBytes`,
   * and cut off as soon as the registry sends more than the descriptor's size; the SHA-256 is
   * checked at the end (OCI_DIGEST_MISMATCH). Redirects (blob storage on another host) are
   * followed without our Authorization.
   */
  async downloadBlob(desc: Descriptor, dest: string, maxBytes: number): Promise<void> {
    if (desc.size > maxBytes) throw new KeyshareError(BundleCodes.BUNDLE_TOO_LARGE, `the bundle layer is ${desc.size} bytes, over the limit of ${maxBytes}`);
    let url = this.url(`blobs/${desc.digest}`);
    let res = await this.request('GET', url);
    for (let hops = 0; res.statusCode !== undefined && [301, 302, 303, 307, 308].includes(res.statusCode); hops++) {
      res.resume();
      const loc = header(res, 'location');
      if (!loc || hops >= MAX_REDIRECTS) throw ociError(OciCodes.REGISTRY_PROTOCOL, `${this.ref.registry} redirects blob ${desc.digest} ${loc ? 'too often' : 'nowhere'}`);
      url = new URL(loc, url);
      if (url.protocol !== 'https:' && !(this.options.insecure && isLoopback(url.hostname))) throw ociError(OciCodes.REGISTRY_PROTOCOL, `${this.ref.registry} redirects blob ${desc.digest} to plain HTTP`);
      res = await this.request('GET', url);
    }
    if (res.statusCode !== 200) throw await this.failure(res, `blob ${desc.digest}`, OciCodes.OCI_BLOB_UNKNOWN);
    const length = res.headers['content-length'];
    if (length !== undefined && Number(length) !== desc.size) {
      res.destroy();
      throw ociError(OciCodes.OCI_DIGEST_MISMATCH, `the registry sends ${length} bytes for blob ${desc.digest}, whose descriptor says ${desc.size}`);
    }
    const hash = sha256Stream();
    let received = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        received += chunk.length;
        if (received > desc.size) return done(ociError(OciCodes.OCI_DIGEST_MISMATCH, `the registry sends more than the ${desc.size} bytes of blob ${desc.digest}`));
        hash.update(chunk);
        done(null, chunk);
      },
    });
    try {
      await pipeline(res, meter, createWriteStream(dest, { flags: 'wx', mode: 0o600 }));
    } catch (e) {
      throw this.transportError(e, url);
    }
    const got = `sha256:${hash.digest('hex')}`;
    if (received !== desc.size || got !== desc.digest) {
      throw ociError(OciCodes.OCI_DIGEST_MISMATCH, `blob ${desc.digest} as received (${received} bytes) hashes to ${got}: the registry's copy is damaged or tampered with`);
    }
  }
}

function header(res: http.IncomingMessage, name: string): string | null {
  const v = res.headers[name];
  return typeof v === 'string' ? v : Array.isArray(v) ? (v[0] ?? null) : null;
}

async function readCapped(res: http.IncomingMessage, max: number, tooLarge: () => KeyshareError | null): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    n += chunk.length;
    if (n > max) {
      res.destroy();
      const e = tooLarge();
      if (e) throw e;
      break;
    }
    parts.push(chunk);
  }
  return Buffer.concat(parts);
}

/** Reads `length` bytes at `offset` from a buffer or a file (one chunk in memory at a time). */
function chunkReader(source: { bytes: Buffer } | { file: string }, size: number): ((offset: number, length: number) => Buffer) & { close(): void } {
  if ('bytes' in source) return Object.assign((o: number, l: number) => source.bytes.subarray(o, o + l), { close() {} });
  const fd = openSync(source.file, 'r');
  const read = (offset: number, length: number) => {
    const b = Buffer.alloc(length);
    const n = readSync(fd, b, 0, length, offset);
    if (n !== length || offset + length > size) throw new KeyshareError(Codes.INTERNAL, `${source.file} changed while it was pushed`);
    return b;
  };
  return Object.assign(read, { close: () => closeSync(fd) });
}
