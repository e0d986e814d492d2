/**
 * The OpenAPI description is generated from the routes and their zod schemas: every admin
 * route registered in the app must be in it (a route added with plain `.get()` would not be).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openInstance, type Instance } from '../../../service/instance.js';
import { appApi, cleanupTempDirs, newDataDir } from '../../support/service.js';

const BASE = '/api/v1';
/** Served next to the API, not part of it. */
const NOT_ADMIN_ROUTES = new Set([`GET ${BASE}/openapi.json`]);

describe('the OpenAPI description of the admin API', () => {
  let instance: Instance;
  let app: ReturnType<typeof appApi>['app'];
  let doc: any;

  beforeAll(async () => {
    const { dataDir } = await newDataDir();
    instance = await openInstance({ dataDir });
    app = appApi(instance, null).app;
    const res = await app.request(`${BASE}/openapi.json`);
    expect(res.status).toBe(200);
    doc = await res.json();
  });
  afterAll(async () => {
    await instance.close();
    cleanupTempDirs();
  });

  it('is an OpenAPI 3 document served without a token, for the /api/v1 server', () => {
    expect(doc.openapi).toMatch(/^3\./);
    expect(doc.info.title).toBeTruthy();
    expect(doc.servers).toEqual([{ url: BASE }]);
  });

  it('documents every admin route registered in the app, with its method', () => {
    const toOpenApi = (path: string) => path.slice(BASE.length).replace(/:([A-Za-z0-9_]+)(\{[^}]*\})?/g, '{$1}').replace(/\/$/, '') || '/';
    const registered = new Set(
      app.routes
        .filter((r) => r.path.startsWith(`${BASE}/`) && r.method !== 'ALL' && !NOT_ADMIN_ROUTES.has(`${r.method} ${r.path}`))
        .map((r) => `${r.method.toLowerCase()} ${toOpenApi(r.path)}`),
    );
    const documented = new Set<string>();
    for (const [path, item] of Object.entries<Record<string, unknown>>(doc.paths)) {
      for (const method of Object.keys(item)) if (['get', 'post', 'put', 'patch', 'delete', 'head'].includes(method)) documented.add(`${method} ${path}`);
    }
    expect(registered.size).toBeGreaterThan(5);
    expect([...registered].filter((r) => !documented.has(r)).sort()).toEqual([]);
    // And nothing is documented that is not served.
    expect([...documented].filter((d) => !registered.has(d)).sort()).toEqual([]);
    // The contract's routes are all there.
    for (const r of ['get /scopes', 'post /scopes', 'get /scopes/{scope}', 'delete /scopes/{scope}', 'post /scopes/{scope}/anchors', 'delete /scopes/{scope}/anchors/{id}', 'post /revocations', 'post /apply']) {
      expect(documented).toContain(r);
    }
  });

  it('describes bearer authentication for every operation', () => {
    const schemes = doc.components.securitySchemes;
    const [name, scheme] = Object.entries<any>(schemes).find(([, s]) => s.type === 'http' && s.scheme === 'bearer')!;
    expect(scheme).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.security).toEqual([{ [name]: [] }]);
    for (const item of Object.values<Record<string, any>>(doc.paths)) {
      for (const op of Object.values(item)) expect(op.security === undefined || op.security.length > 0).toBe(true);
    }
  });

  it('documents request bodies from the zod schemas that validate them', () => {
    const body = doc.paths['/scopes'].post.requestBody.content['application/json'].schema;
    const schema = body.$ref ? doc.components.schemas[body.$ref.split('/').pop()] : body;
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['scope', 'inherit', 'level']));
    expect(schema.required).toContain('scope');
  });

  it('has a docs page at /api/docs that lists every operation', async () => {
    const res = await app.request('/api/docs');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toContain('href="/api/v1/openapi.json"');
    for (const [path, item] of Object.entries<Record<string, unknown>>(doc.paths)) {
      for (const method of Object.keys(item)) expect(html).toContain(`${method.toUpperCase()} /api/v1${path}`);
    }
    // Nothing is loaded from elsewhere: it works offline.
    expect(html).not.toMatch(/(src|href)="https?:/);
  });
});
