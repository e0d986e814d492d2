/**
 * Every kind of refused input gets a 4xx with `{ code, message }` and a stable code
 * (CONTRACT.md "HTTP", STYLE.md "Errors"). hono's test style: app.request(), no socket.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFixture, readFixtureText } from '../../../fixtures/index.js';
import { openInstance, type Instance } from '../../../service/instance.js';
import { DEFAULT_MAX_BODY } from '../../../service/http/app.js';
import { appApi, cleanupTempDirs, newDataDir, scopePath, type Api, type ApiResponse } from '../../support/service.js';

let instance: Instance;
let api: Api;
let token: string;
let logs: Record<string, unknown>[];
let app: ReturnType<typeof appApi>['app'];

beforeAll(async () => {
  const dir = await newDataDir();
  token = dir.token;
  instance = await openInstance({ dataDir: dir.dataDir });
  ({ api, logs, app } = appApi(instance, token));
  expect((await api('POST', '/scopes', { scope: 'registry.acme.io' })).status).toBe(201);
});
afterAll(async () => {
  await instance?.close();
  cleanupTempDirs();
});

/** A refusal: the status, the code, a message, and nothing else that could leak internals. */
function expectRefused(res: ApiResponse, status: number, code: string): void {
  expect(res.body, JSON.stringify(res.body)).toMatchObject({ code });
  expect(res.status).toBe(status);
  expect(typeof res.body.message).toBe('string');
  expect(res.body.message.length).toBeGreaterThan(0);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  expect(JSON.stringify(res.body)).not.toMatch(/\n\s+at |node_modules|\.ts:\d+/);
}

const timestampVersion = () => instance.publisher.latestMetadata('timestamp')!.version;

describe('when a scope is invalid', () => {
  const cases: [string, string][] = [
    ['upper case', 'Registry.Acme.io'],
    ['upper case in the path', 'registry.acme.io/Team'],
    ['an empty path component', 'registry.acme.io//team'],
    ['a trailing slash', 'registry.acme.io/'],
    ['an empty host label', 'registry..acme.io'],
    ['a leading slash', '/team'],
    ['a ".." path component', 'registry.acme.io/../team'],
    ['a "." path component', 'registry.acme.io/./team'],
    ['a path longer than 255 characters', `registry.acme.io/${'a'.repeat(250)}`],
    ['a port above 65535', 'registry.acme.io:65536'],
    ['port 0', 'registry.acme.io:0'],
    ['a port that is not a number', 'registry.acme.io:http'],
    ['a wildcard in the middle', 'registry.*.io'],
    ['a wildcard as a path', 'registry.acme.io/*'],
    ['a wildcard with a port', '*.acme.io:5000'],
    ['a wildcard with a path', '*.acme.io/team'],
    ['a bare "*."', '*.'],
    ['a double "**"', '**'],
    ['white space', 'registry.acme.io '],
    ['an invalid path component', 'registry.acme.io/team_-a'],
    ['a URL', 'https://registry.acme.io'],
    ['the empty string', ''],
  ];

  it.each(cases)('refuses %s with SCOPE_INVALID when creating it', async (_what, scope) => {
    expectRefused(await api('POST', '/scopes', { scope }), 400, 'SCOPE_INVALID');
  });

  it.each(cases.filter(([, s]) => s !== '' && s !== '/team'))('refuses %s with SCOPE_INVALID in a path', async (_what, scope) => {
    expectRefused(await api('GET', scopePath(scope)), 400, 'SCOPE_INVALID');
  });

  it('refuses it in a declarative file with SCOPE_INVALID on the entry', async () => {
    const res = await api('POST', '/apply', { scopes: [{ scope: 'Registry.Acme.io' }] });
    expectRefused(res, 400, 'APPLY_INVALID');
    expect(res.body.details).toEqual([expect.objectContaining({ path: 'scopes[0]', code: 'SCOPE_INVALID' })]);
  });

  it('creates nothing and publishes nothing', async () => {
    const before = timestampVersion();
    await api('POST', '/scopes', { scope: 'Registry.Acme.io' });
    expect(timestampVersion()).toBe(before);
    expect((await api('GET', '/scopes')).body.scopes.map((s: { scope: string }) => s.scope)).toEqual(['registry.acme.io']);
  });
});

describe('when a certificate cannot be an anchor', () => {
  const add = (body: Record<string, unknown>, scope = 'registry.acme.io') => api('POST', `${scopePath(scope)}/anchors`, body);

  it('refuses a non-CA certificate as a ca anchor with NOT_A_CA', async () => {
    expectRefused(await add({ certificate: readFixtureText('certs/non-ca.pem') }), 400, 'NOT_A_CA');
    expectRefused(await add({ certificate: readFixtureText('certs/leaf.pem'), type: 'ca' }), 400, 'NOT_A_CA');
  });

  it('refuses a non-CA certificate as a tsa anchor with NOT_A_CA', async () => {
    expectRefused(await add({ certificate: readFixtureText('certs/leaf.pem'), type: 'tsa' }), 400, 'NOT_A_CA');
  });

  it('refuses an expired CA with CERT_EXPIRED', async () => {
    expectRefused(await add({ certificate: readFixtureText('certs/expired-ca.pem') }), 400, 'CERT_EXPIRED');
  });

  it('refuses a CA that is not valid yet with CERT_NOT_YET_VALID', async () => {
    expectRefused(await add({ certificate: readFixtureText('certs/not-yet-valid-ca.pem') }), 400, 'CERT_NOT_YET_VALID');
  });

  it.each([
    ['garbage PEM', { certificate: readFixtureText('certs/garbage.pem') }],
    ['a truncated PEM', { certificate: readFixtureText('certs/truncated.pem') }],
    ['a chain where one certificate is expected', { certificate: readFixtureText('certs/chain.pem') }],
    ['garbage DER', { certificate: readFixture('certs/garbage.der').toString('base64'), encoding: 'base64' }],
    ['truncated DER', { certificate: readFixture('certs/truncated.der').toString('base64'), encoding: 'base64' }],
    ['DER with trailing garbage', { certificate: readFixture('certs/trailing-garbage.der').toString('base64'), encoding: 'base64' }],
    ['random bytes', { certificate: readFixture('garbage/random.bin').toString('base64'), encoding: 'base64' }],
  ])('refuses %s with BAD_CERTIFICATE', async (_what, body) => {
    expectRefused(await add(body), 400, 'BAD_CERTIFICATE');
  });

  it('accepts the good DER certificate (the encoding works)', async () => {
    const res = await add({ certificate: readFixture('certs/root-ca.der').toString('base64'), encoding: 'base64' }, 'registry.acme.io');
    expect(res.status).toBe(201);
    expect((await api('DELETE', `${scopePath('registry.acme.io')}/anchors/${encodeURIComponent(res.body.anchor.id)}`)).status).toBe(200);
  });
});

describe('when a public key cannot be an anchor', () => {
  const add = (body: Record<string, unknown>) => api('POST', `${scopePath('registry.acme.io')}/anchors`, body);

  it.each([
    ['secp256k1', 'keys/ec-secp256k1.pub.pem'],
    ['RSA 1024', 'keys/rsa-1024.pub.pem'],
    ['X25519', 'keys/x25519.pub.pem'],
    ['DSA', 'keys/dsa-2048.pub.pem'],
    ['an OpenPGP v6 key', 'pgp/v6.pub.asc'],
  ])('refuses an unsupported key type (%s) with UNSUPPORTED_KEY', async (_what, file) => {
    expectRefused(await add({ publicKey: readFixtureText(file) }), 400, 'UNSUPPORTED_KEY');
  });

  it.each([
    ['garbage in PUBLIC KEY armor', 'keys/garbage.pub.pem'],
    ['a truncated PEM key', 'keys/truncated.pub.pem'],
    ['a private key', 'keys/ec-p256.key.pem'],
  ])('refuses %s with BAD_PUBLIC_KEY', async (_what, file) => {
    expectRefused(await add({ publicKey: readFixtureText(file) }), 400, 'BAD_PUBLIC_KEY');
  });

  it('refuses random bytes with BAD_PUBLIC_KEY', async () => {
    expectRefused(await add({ publicKey: readFixture('garbage/random.bin').toString('base64'), encoding: 'base64' }), 400, 'BAD_PUBLIC_KEY');
  });

  it('refuses garbage in OpenPGP armor with BAD_PGP_KEY', async () => {
    expectRefused(await add({ publicKey: readFixtureText('pgp/garbage.asc') }), 400, 'BAD_PGP_KEY');
  });

  it('refuses an anchor type that does not exist with BAD_REQUEST', async () => {
    expectRefused(await add({ publicKey: readFixtureText('keys/ec-p256.pub.pem'), type: 'x509' }), 400, 'BAD_REQUEST');
  });
});

describe('when an anchor is already defined at the scope', () => {
  it('refuses the duplicate with ANCHOR_EXISTS (409)', async () => {
    const body = { publicKey: readFixtureText('keys/ec-p256.pub.pem') };
    expect((await api('POST', `${scopePath('registry.acme.io')}/anchors`, body)).status).toBe(201);
    const before = timestampVersion();
    expectRefused(await api('POST', `${scopePath('registry.acme.io')}/anchors`, body), 409, 'ANCHOR_EXISTS');
    // The same key in DER has the same ID.
    const der = { publicKey: readFixture('keys/ec-p256.pub.der').toString('base64'), encoding: 'base64' };
    expectRefused(await api('POST', `${scopePath('registry.acme.io')}/anchors`, der), 409, 'ANCHOR_EXISTS');
    expect(timestampVersion()).toBe(before);
  });

  it('refuses a scope that already exists with SCOPE_EXISTS (409)', async () => {
    expectRefused(await api('POST', '/scopes', { scope: 'registry.acme.io' }), 409, 'SCOPE_EXISTS');
  });
});

describe('when a scope or an anchor is unknown', () => {
  it('refuses reading, removing or adding to an unknown scope with SCOPE_NOT_FOUND (404)', async () => {
    expectRefused(await api('GET', scopePath('unknown.acme.io')), 404, 'SCOPE_NOT_FOUND');
    expectRefused(await api('DELETE', scopePath('unknown.acme.io')), 404, 'SCOPE_NOT_FOUND');
    expectRefused(
      await api('POST', `${scopePath('unknown.acme.io')}/anchors`, { publicKey: readFixtureText('keys/ed25519.pub.pem') }),
      404,
      'SCOPE_NOT_FOUND',
    );
  });

  it('looks up the scope before validating the anchor', async () => {
    // An unknown scope is the first thing wrong, even with a bad certificate.
    expectRefused(
      await api('POST', `${scopePath('unknown.acme.io')}/anchors`, { certificate: readFixtureText('certs/non-ca.pem') }),
      404,
      'SCOPE_NOT_FOUND',
    );
  });

  it('refuses removing an anchor the scope does not have with ANCHOR_NOT_FOUND (404)', async () => {
    const id = `sha256:${'ab'.repeat(32)}`;
    expectRefused(await api('DELETE', `${scopePath('registry.acme.io')}/anchors/${id}`), 404, 'ANCHOR_NOT_FOUND');
  });

  it('refuses a malformed anchor ID with ANCHOR_INVALID', async () => {
    expectRefused(await api('DELETE', `${scopePath('registry.acme.io')}/anchors/not-an-id`), 400, 'ANCHOR_INVALID');
  });

  it('answers an unknown route with NOT_FOUND (404)', async () => {
    expectRefused(await api('GET', '/nothing-here'), 404, 'NOT_FOUND');
  });
});

describe('when the token is wrong', () => {
  const without = (t: string | null) => appApi(instance, t).api;

  it.each([
    ['no token', null],
    ['a malformed token', 'not-a-token'],
    ['a token with the wrong secret', () => token.replace(/_[^_]+$/, `_${'A'.repeat(43)}`)],
    ['a token with an unknown id', () => token.replace(/^ks_[0-9a-f]{12}/, 'ks_000000000000')],
  ] as [string, string | null | (() => string)][])('refuses %s with UNAUTHORIZED (401)', async (_what, t) => {
    const value = typeof t === 'function' ? t() : t;
    const call = without(value);
    expectRefused(await call('GET', '/scopes'), 401, 'UNAUTHORIZED');
    expectRefused(await call('POST', '/scopes', { scope: 'sneaky.acme.io' }), 401, 'UNAUTHORIZED');
  });

  it('refuses a token in the wrong header scheme', async () => {
    expectRefused(await api('GET', '/scopes', undefined, { authorization: `Basic ${token}` }), 401, 'UNAUTHORIZED');
  });

  it('changed nothing', async () => {
    expect((await api('GET', '/scopes')).body.scopes.map((s: { scope: string }) => s.scope)).not.toContain('sneaky.acme.io');
  });

  it('checks the token before the body size', async () => {
    const res = await without(null)('POST', '/scopes', JSON.stringify({ scope: 'x'.repeat(DEFAULT_MAX_BODY + 1) }));
    expect([401, 413]).toContain(res.status);
  });
});

describe('when a request body is too large', () => {
  const big = () => JSON.stringify({ scope: 'big.acme.io', padding: 'x'.repeat(DEFAULT_MAX_BODY + 10) });

  it('refuses it with BODY_TOO_LARGE (413) when Content-Length says so', async () => {
    const body = big();
    expectRefused(await api('POST', '/scopes', body, { 'content-length': String(Buffer.byteLength(body)) }), 413, 'BODY_TOO_LARGE');
  });

  it('refuses it with BODY_TOO_LARGE (413) when the size is only known by reading', async () => {
    const body = big();
    const res = await app.request('/api/v1/scopes', {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: new ReadableStream({
        start(controller) {
          const bytes = Buffer.from(body);
          for (let i = 0; i < bytes.length; i += 65536) controller.enqueue(bytes.subarray(i, i + 65536));
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    const text = await res.text();
    expect(res.status).toBe(413);
    expect(JSON.parse(text)).toMatchObject({ code: 'BODY_TOO_LARGE' });
  });

  it('refuses an oversized declarative file too', async () => {
    const body = JSON.stringify({ scopes: [{ scope: 'big.acme.io', padding: 'x'.repeat(DEFAULT_MAX_BODY) }] });
    expectRefused(await api('POST', '/apply', body, { 'content-length': String(Buffer.byteLength(body)) }), 413, 'BODY_TOO_LARGE');
  });

  it('created nothing', async () => {
    expectRefused(await api('GET', scopePath('big.acme.io')), 404, 'SCOPE_NOT_FOUND');
  });
});

describe('when a request body is malformed', () => {
  it('refuses malformed JSON with BAD_REQUEST, saying to send JSON', async () => {
    const res = await api('POST', '/scopes', '{"scope": "registry.acme.io",');
    expectRefused(res, 400, 'BAD_REQUEST');
    expect(res.body.message).toMatch(/^the body is not valid JSON: send one JSON object/);
    expectRefused(await api('POST', '/apply', '{scopes: [}'), 400, 'BAD_REQUEST');
  });

  it('refuses a body without a JSON content type with BAD_REQUEST (415), naming the type to send (issue 15)', async () => {
    const res = await api('POST', '/scopes', JSON.stringify({ scope: 'text.acme.io' }), { 'content-type': 'text/plain' });
    expectRefused(res, 415, 'BAD_REQUEST');
    expect(res.body.message).toBe('the body must be sent as application/json, not "text/plain"');
    const apply = await api('POST', '/apply', 'scopes: []', { 'content-type': 'application/yaml' });
    expectRefused(apply, 415, 'BAD_REQUEST');
    expect(apply.body.message).toContain('application/json (or application/x-ndjson');
  });

  it('refuses JSON of the wrong shape with BAD_REQUEST', async () => {
    expectRefused(await api('POST', '/scopes', { scope: 42 }), 400, 'BAD_REQUEST');
    expectRefused(await api('POST', '/scopes', { scope: 'registry.acme.io', inherit: 'yes' }), 400, 'BAD_REQUEST');
    expectRefused(await api('POST', '/scopes', { scope: 'level.acme.io', level: 'paranoid' }), 400, 'BAD_REQUEST');
    expectRefused(await api('POST', '/scopes', [1, 2]), 400, 'BAD_REQUEST');
    expectRefused(await api('POST', '/apply', { scopes: 'all' }), 400, 'BAD_REQUEST');
  });

  it('refuses an empty body with BAD_REQUEST', async () => {
    expectRefused(await api('POST', '/scopes', ''), 400, 'BAD_REQUEST');
  });

  it('refuses an anchor with neither or both of certificate and publicKey with ANCHOR_INVALID', async () => {
    const url = `${scopePath('registry.acme.io')}/anchors`;
    expectRefused(await api('POST', url, {}), 400, 'ANCHOR_INVALID');
    expectRefused(
      await api('POST', url, { certificate: readFixtureText('certs/root-ca.pem'), publicKey: readFixtureText('keys/ed25519.pub.pem') }),
      400,
      'ANCHOR_INVALID',
    );
  });
});

describe('when the service fails internally', () => {
  it('answers 500 INTERNAL with "internal error" and logs the cause, never leaking it', async () => {
    const store = instance.store as unknown as { listScopes: () => unknown };
    const original = store.listScopes;
    store.listScopes = () => {
      throw new Error('SQLITE_CORRUPT: database disk image is malformed at SELECT * FROM scopes');
    };
    try {
      const res = await api('GET', '/scopes');
      expect(res.status).toBe(500);
      expect(res.body).toEqual({ code: 'INTERNAL', message: 'internal error' });
      expect(JSON.stringify(logs)).toContain('SQLITE_CORRUPT');
    } finally {
      store.listScopes = original;
    }
  });

  it('does not mistake an internal JSON error for a bad request', async () => {
    const store = instance.store as unknown as { listScopes: () => unknown };
    const original = store.listScopes;
    store.listScopes = () => JSON.parse('{corrupt stored value');
    try {
      const res = await api('GET', '/scopes');
      expect(res.status).toBe(500);
      expect(res.body).toEqual({ code: 'INTERNAL', message: 'internal error' });
    } finally {
      store.listScopes = original;
    }
  });
});
