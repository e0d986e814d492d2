/**
 * Fuzzing every admin API route (createApp(...).request, no socket): the routes are read from
 * the service's own OpenAPI description, so a route added later is fuzzed too. Bodies are
 * random JSON, objects with the route's field names and random or near-valid values, and
 * non-JSON; path parameters are random too. Properties: never a 5xx; a 4xx has a JSON body
 * `{ code, message }` with a stable code; and a refused request stores nothing (the audit
 * log aside, which records refusals on purpose).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFixtureText } from '../../fixtures/index.js';
import { openInstance, type Instance } from '../../service/instance.js';
import { appApi, cleanupTempDirs, newDataDir } from '../support/service.js';
import { CODE, dumpStore, mutatedText, runs } from './support.js';

let instance: Instance;
let token: string;
let app: ReturnType<typeof appApi>['app'];
let routes: Route[] = [];

interface Route {
  method: string;
  path: string;
  body: any | null;
  query: string[];
}

/** Routes that reach out over the network (upstream syncs): not for a unit-speed fuzz. */
const NETWORK = /\/sync$/;

const pem = [readFixtureText('keys/ec-p256.pub.pem'), readFixtureText('certs/root-ca.pem'), readFixtureText('crls/intermediate-ca.crl.pem'), readFixtureText('pgp/release.pub.asc')];
// Defined in beforeAll, new and valid, or invalid: enough new valid ones that POST /scopes gets through in 30 runs.
const scopes = fc.constantFrom('*', '*.acme.io', 'registry.acme.io', 'registry.acme.io/team-a', 'localhost:5000', '127.0.0.1:5000', 'ghcr.io', 'ghcr.io/org', 'registry.acme.io/team-b', 'Registry.acme.io', 'acme.io//x');
const ids = fc.oneof(fc.stringMatching(/^[0-9a-f]{64}$/).map((h) => `sha256:${h}`), fc.stringMatching(/^[0-9a-f]{40}$/).map((h) => `pgp:${h}`));
const material = fc.oneof(fc.constantFrom(...pem), mutatedText(pem));
/** Values that get past the first checks of a field, chosen by its name. */
function nearValidFor(name: string): fc.Arbitrary<unknown> {
  if (/scope/i.test(name)) return scopes;
  if (/certificate|publicKey|crl|key$|der|pem/i.test(name)) return material;
  if (/url/i.test(name)) return fc.constantFrom('http://127.0.0.1:9/', 'http://127.0.0.1:9/x.crl', 'ftp://x', 'http://[::1');
  if (/^(id|digest|issuer|keyid)$/i.test(name)) return ids;
  if (/^role$/i.test(name)) return fc.constantFrom('timestamp', 'snapshot', 'targets', 'root', 'admin', 'editor', 'reader');
  if (/serial/i.test(name)) return fc.stringMatching(/^(0x)?[0-9a-fA-F:]{1,44}$/);
  if (/expires|valid|duration/i.test(name)) return fc.constantFrom('30d', '1h', '0s', '-1d', '100y', '2026-01-01T00:00:00Z');
  if (/name/i.test(name)) return fc.oneof(fc.constantFrom('ci', 'acme', 'a b', ''), fc.string({ maxLength: 130 }));
  return fc.constantFrom('admin', 'editor', 'reader', 'timestamp', 'snapshot', 'targets', 'federate', 'mirror', 'keyCompromise', 'strict', 'base64', 'text');
}
const junk = fc.oneof(fc.string({ maxLength: 40 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constant([]), fc.constant({}), fc.string({ unit: 'binary', maxLength: 20 }));

function resolve(doc: any, schema: any): any {
  let s = schema;
  for (let i = 0; s?.$ref && i < 10; i++) s = s.$ref.split('/').slice(1).reduce((o: any, k: string) => o?.[k], doc);
  return s ?? {};
}

function valueFor(doc: any, schema: any, name: string, depth = 0): fc.Arbitrary<unknown> {
  const s = resolve(doc, schema);
  const options: fc.WeightedArbitrary<unknown>[] = [{ weight: 1, arbitrary: junk }];
  const add = (weight: number, arbitrary: fc.Arbitrary<unknown>) => options.push({ weight, arbitrary });
  if (Array.isArray(s.enum)) add(6, fc.constantFrom(...s.enum));
  else if (s.type === 'string' || s.type === undefined) {
    add(6, nearValidFor(name));
    add(1, fc.string({ maxLength: 80 }));
  }
  if (s.type === 'boolean') add(6, fc.boolean());
  if (s.type === 'integer' || s.type === 'number') add(6, fc.integer({ min: -5, max: 100_000 }));
  if (s.type === 'array' && depth < 2) add(6, fc.array(valueFor(doc, s.items, name, depth + 1), { maxLength: 3 }));
  if ((s.type === 'object' || s.properties) && depth < 2) add(6, objectFor(doc, s, depth + 1));
  for (const alt of [...(s.anyOf ?? []), ...(s.oneOf ?? [])]) if (depth < 2) add(3, valueFor(doc, alt, name, depth + 1));
  return fc.oneof(...options);
}

function objectFor(doc: any, schema: any, depth = 0): fc.Arbitrary<Record<string, unknown>> {
  const s = resolve(doc, schema);
  const props = Object.entries<any>(s.properties ?? {});
  if (props.length === 0) return fc.dictionary(fc.string({ maxLength: 10 }), junk, { maxKeys: 3 });
  return fc.record(Object.fromEntries(props.map(([k, v]) => [k, valueFor(doc, v, k, depth)])), { requiredKeys: [] });
}

/** A request body: structured (the route's fields), any JSON, or not JSON at all. */
function bodyFor(doc: any, route: Route): fc.Arbitrary<{ text: string | undefined; type: string | undefined }> {
  const json = (a: fc.Arbitrary<unknown>) => a.map((v) => ({ text: JSON.stringify(v), type: 'application/json' as string | undefined }));
  if (!route.body) return fc.oneof({ weight: 4, arbitrary: fc.constant({ text: undefined, type: undefined }) }, { weight: 1, arbitrary: json(fc.jsonValue({ maxDepth: 2 })) });
  return fc.oneof(
    { weight: 6, arbitrary: json(objectFor(doc, route.body)) },
    { weight: 2, arbitrary: json(fc.jsonValue({ maxDepth: 3 })) },
    { weight: 1, arbitrary: fc.record({ text: fc.string({ maxLength: 100 }), type: fc.constantFrom('application/json', 'text/plain', undefined) }) },
  );
}

const param = fc.oneof(scopes, ids, nearValidFor(''), fc.string({ maxLength: 30 }), fc.constantFrom('..', '%', '%2F', '', ' ', '\u0000', 'a'.repeat(300)));

function requestFor(doc: any, route: Route) {
  return fc.record({
    // Each path parameter near-valid for its name (`{scope}`, `{id}`, ...) most of the time.
    path: fc
      .tuple(...[...route.path.matchAll(/\{([^}]+)\}/g)].map((m) => fc.oneof({ weight: 3, arbitrary: nearValidFor(m[1]!) }, { weight: 1, arbitrary: param })), fc.constant(null))
      .map((values) => {
        let i = 0;
        return route.path.replace(/\{[^}]+\}/g, () => encodeURIComponent(String(values[i++])));
      }),
    query: fc.array(fc.tuple(fc.constantFrom(...(route.query.length ? route.query : ['x'])), fc.oneof(fc.constantFrom('true', 'false', '0', '10', '2026-01-01T00:00:00Z'), fc.string({ maxLength: 10 }))), { maxLength: 2 }),
    body: bodyFor(doc, route),
  });
}

// The routes come from the service's OpenAPI description, read once at load: one test per route.
const made = await newDataDir();
token = made.token;
instance = await openInstance({ dataDir: made.dataDir });
app = appApi(instance, token).app;
const doc = await (await app.request('/api/v1/openapi.json')).json();
for (const [path, ops] of Object.entries<any>(doc.paths)) {
  for (const [method, op] of Object.entries<any>(ops)) {
    if (method === 'get' || NETWORK.test(path)) continue;
    routes.push({
      method: method.toUpperCase(),
      path,
      body: op.requestBody?.content?.['application/json']?.schema ?? null,
      query: (op.parameters ?? []).filter((p: any) => p.in === 'query').map((p: any) => p.name),
    });
  }
}

beforeAll(async () => {
  // Scopes for the anchor and block routes to write to (a fuzzed DELETE may remove them again).
  for (const scope of ['*', '*.acme.io', 'registry.acme.io', 'registry.acme.io/team-a']) await instance.service.createScope({ scope });
});

afterAll(async () => {
  await instance?.close();
  cleanupTempDirs();
});

describe('every admin API write route', () => {
  it('finds the write routes in the OpenAPI description', () => {
    expect(routes.map((r) => `${r.method} ${r.path}`)).toEqual(expect.arrayContaining(['POST /scopes', 'POST /scopes/{scope}/anchors', 'POST /revocations', 'POST /crls', 'POST /apply', 'POST /tokens']));
  });

  it.each(routes.map((r) => [`${r.method} ${r.path}`, r] as const))('%s: never answers 5xx; refuses with { code, message } and stores nothing', { timeout: 120_000 }, async (_name, route) => {
    let ok = 0;
    const fuzz = () =>
      fc.assert(
        fc.asyncProperty(requestFor(doc, route), async (req) => {
          const before = await dumpStore(instance.store);
          const qs = req.query.length ? `?${new URLSearchParams(req.query).toString()}` : '';
          const res = await app.request(`/api/v1${req.path}${qs}`, {
            method: route.method,
            headers: { authorization: `Bearer ${token}`, ...(req.body.type ? { 'content-type': req.body.type } : {}) },
            body: req.body.text,
          });
          const text = await res.text();
          const where = `${route.method} ${req.path}${qs} ${req.body.text?.slice(0, 300)} -> ${res.status} ${text.slice(0, 300)}`;
          expect(res.status, where).toBeLessThan(500);
          if (res.status < 400) return void ok++;
          const body = JSON.parse(text);
          expect(body.code, where).toMatch(CODE);
          expect(typeof body.message, where).toBe('string');
          expect(await dumpStore(instance.store), `${where}: nothing stored`).toEqual(before);
        }),
        runs(30),
      );
    await fuzz();
    // On the main routes some requests get through: the fuzz reaches past validation. A batch
    // of 30 misses now and then by chance, so up to 10 batches (bounded, not a retry of failures).
    if (['POST /scopes', 'POST /revocations', 'POST /apply'].includes(`${route.method} ${route.path}`)) {
      for (let batch = 1; ok === 0 && batch < 10; batch++) await fuzz();
      expect(ok).toBeGreaterThan(0);
    }
  });
});
