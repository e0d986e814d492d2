/**
 * Issue 16, finding 7: behind a TLS proxy, console form posts carry `Origin: https://...` while
 * the service itself is reached over http. One setting, --trusted-proxy, decides whether the
 * proxy's X-Forwarded-* headers are believed, for the origin check and secure cookies alike.
 * (The peer address is given to app.request the way hono's node adapter gives it: c.env.incoming.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../../service/http/app.js';
import { TrustedProxies } from '../../../service/http/client.js';
import { loadConfig } from '../../../service/config.js';
import { openInstance, type Instance } from '../../../service/instance.js';
import { cleanupTempDirs, newDataDir } from '../../support/service.js';

let instance: Instance;
let token: string;
beforeAll(async () => {
  const d = await newDataDir();
  token = d.token;
  instance = await openInstance({ dataDir: d.dataDir });
});
afterAll(async () => {
  await instance?.close();
  cleanupTempDirs();
});

const PROXY = '10.1.2.3';
const forwarded = { host: '127.0.0.1:8080', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'keyshare.acme.io', 'x-forwarded-for': '203.0.113.9' };

async function signInThrough(app: ReturnType<typeof createApp>, peer: string): Promise<Response> {
  const env = { incoming: { socket: { remoteAddress: peer } } };
  const form = await app.request('http://127.0.0.1:8080/ui/signin', { headers: forwarded }, env);
  const cookie = form.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  const csrf = /name="csrf" value="([^"]+)"/.exec(await form.text())![1]!;
  return app.request(
    'http://127.0.0.1:8080/ui/signin',
    {
      method: 'POST',
      headers: { ...forwarded, cookie, origin: 'https://keyshare.acme.io', 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf, token }).toString(),
    },
    env,
  );
}

describe('when the console is behind a TLS proxy', () => {
  it('accepts the form post, with a Secure cookie, when the proxy is trusted', async () => {
    const app = createApp({ instance, trustedProxies: TrustedProxies.parse(['10.0.0.0/8']) });
    const res = await signInThrough(app, PROXY);
    expect(res.status).toBe(303);
    expect(res.headers.getSetCookie().find((c) => c.startsWith('ks_session='))).toMatch(/; Secure/);
  });

  it('refuses it as cross-origin when the peer is not a trusted proxy (forwarded headers ignored)', async () => {
    const app = createApp({ instance, trustedProxies: TrustedProxies.parse(['10.0.0.0/8']) });
    expect((await signInThrough(app, '192.0.2.1')).status).toBe(403);
    expect((await signInThrough(createApp({ instance }), PROXY)).status).toBe(403);
  });
});

describe('the trusted-proxy setting', () => {
  it('comes from the flag or KEYSHARE_TRUSTED_PROXY as comma-separated CIDRs, and refuses anything else', () => {
    const cwd = process.cwd();
    expect(loadConfig({ flags: {}, env: { KEYSHARE_TRUSTED_PROXY: '127.0.0.1, 10.0.0.0/8' }, cwd }).trustedProxy).toEqual(['127.0.0.1', '10.0.0.0/8']);
    expect(loadConfig({ flags: { trustedProxy: '::1/128' }, env: {}, cwd }).trustedProxy).toEqual(['::1/128']);
    expect(loadConfig({ flags: {}, env: {}, cwd }).trustedProxy).toEqual([]);
    expect(() => loadConfig({ flags: { trustedProxy: '10.0.0.0/33' }, env: {}, cwd })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });
});
