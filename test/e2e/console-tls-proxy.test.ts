/**
 * Issue 16, finding 7: behind the TLS proxy that docs/DEPLOYMENT.md recommends, every console
 * form post was refused (the origin check compared against http://). Here Debian's nginx runs
 * the docs' proxy config on 127.0.0.1 with a self-signed certificate made by openssl, the
 * service runs with --trusted-proxy 127.0.0.1, and Chromium (playwright-core) signs in and
 * posts a form through it. The docs must show the location block the test runs.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { TrustedProxies } from '../../service/http/client.js';
import { proxyLocation, startNginxTlsProxy, type RunningNginx } from '../support/nginx.js';
import { cleanupTempDirs, startTestService, tempDir, type TestService } from '../support/service.js';
import { requireTool } from '../support/system-tools.js';

// A missing tool fails the file (test/support/system-tools.ts).
const CHROMIUM = requireTool('chromium');
const OPENSSL = requireTool('openssl');
requireTool('nginx');

let service: TestService;
let nginx: RunningNginx;
let context: BrowserContext;
let page: Page;
let profile: string;

beforeAll(async () => {
  service = await startTestService({ server: { trustedProxies: TrustedProxies.parse(['127.0.0.1']) } });
  const work = tempDir('keyshare-nginx-tls-');
  const [cert, key] = [join(work, 'proxy.pem'), join(work, 'proxy.key')];
  execFileSync(OPENSSL, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  nginx = await startNginxTlsProxy(work, service.url, { cert, key });
  profile = mkdtempSync(join(tmpdir(), 'keyshare-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    // The proxy's certificate is self-signed, made above.
    ignoreHTTPSErrors: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    javaScriptEnabled: false,
  });
  page = context.pages()[0] ?? (await context.newPage());
}, 90_000);

afterAll(async () => {
  await context?.close();
  await nginx?.close();
  await service?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
  cleanupTempDirs();
});

describe('the console behind the TLS proxy of docs/DEPLOYMENT.md', () => {
  it('is the location block the docs show', () => {
    const docs = readFileSync(join(process.cwd(), 'docs', 'DEPLOYMENT.md'), 'utf8');
    for (const line of proxyLocation().split('\n')) expect(docs).toContain(line.trim());
  });

  it('signs in and posts a form over https, with a Secure session cookie', async () => {
    await page.goto(`${nginx.url}/ui/`);
    expect(await page.locator('h1').innerText()).toBe('Sign in');
    await page.getByLabel('API token').fill(service.token);
    await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.getByRole('button', { name: 'Sign in' }).click()]);
    expect(await page.locator('h1').innerText(), nginx.errorLog()).toBe('Overview');
    const session = (await context.cookies()).find((c) => c.name === 'ks_session');
    expect(session?.secure).toBe(true);

    await page.goto(`${nginx.url}/ui/scopes`);
    await page.locator('#new-scope').fill('proxied.acme.io');
    await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.getByRole('button', { name: 'Add scope' }).click()]);
    expect(await page.getByRole('status').innerText()).toContain('Created scope proxied.acme.io.');
    expect(page.url()).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/ui\/scopes/);
    const scopes = (await service.api('GET', '/scopes')).body.scopes as { scope: string }[];
    expect(scopes.map((s) => s.scope)).toContain('proxied.acme.io');
  });
});
