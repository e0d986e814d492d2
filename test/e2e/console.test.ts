/**
 * The web console in a real browser: Debian's Chromium driven by playwright-core, against a
 * running service. Sign in, see the scopes, add an anchor (file upload), revoke it, and find
 * both in the audit log. The browser runs with JavaScript disabled: the console must work
 * without it. A screenshot of each step is saved under test/.tmp/.
 */
import { requireTool } from '../support/system-tools.js';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { fixturePath, readFixture } from '../../fixtures/index.js';
import { expectedCertId, expectedSpkiId } from '../service/crypto/helpers.js';
import { cleanupTempDirs, startTestService, type TestService } from '../support/service.js';

// Never skipped: a missing Chromium fails the file (test/support/system-tools.ts).
const CHROMIUM = requireTool('chromium');
const SHOTS = join(process.cwd(), 'test', '.tmp');
const haveChromium = existsSync(CHROMIUM);

// STYLE.md: a test that needs a system tool fails when the tool is missing and CI is set.
if (!haveChromium && process.env.CI) {
  describe('the web console in Chromium', () => {
    it('needs Debian chromium (apt-get install chromium)', () => {
      expect.fail(`${CHROMIUM} is missing`);
    });
  });
} else {
  describe.skipIf(!haveChromium)('the web console in Chromium', () => {
    let service: TestService;
    let context: BrowserContext;
    let page: Page;
    let profile: string;

    beforeAll(async () => {
      service = await startTestService();
      profile = mkdtempSync(join(tmpdir(), 'keyshare-chromium-'));
      mkdirSync(SHOTS, { recursive: true });
      // A new, empty profile for every run (playwright passes it as --user-data-dir).
      context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
        javaScriptEnabled: false,
        viewport: { width: 1280, height: 900 },
      });
      page = context.pages()[0] ?? (await context.newPage());
    });

    afterAll(async () => {
      await context?.close();
      await service?.close();
      if (profile) rmSync(profile, { recursive: true, force: true });
      cleanupTempDirs();
    });

    /** Clicks something that loads a new page (a link, or a form post answered by a redirect). */
    const go = async (target: Locator) => {
      await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), target.click()]);
    };
    const h1 = () => page.locator('h1').innerText();
    const scopeRegion = (scope: string) => page.getByRole('region', { name: `Scope ${scope}`, exact: true });

    it('signs in with a token, shows scopes, adds an anchor, revokes it, and shows the audit entries', async () => {
      await service.api('POST', '/scopes', { scope: 'registry.acme.io' });
      await service.api('POST', '/scopes', { scope: 'registry.acme.io/team-a', level: 'audit' });

      // Sign in: the form field is named `token`.
      await page.goto(`${service.url}/ui/`);
      expect(await h1()).toBe('Sign in');
      expect(await page.locator('input[name="token"]').count()).toBe(1);
      await page.getByLabel('API token').fill(service.token);
      await go(page.getByRole('button', { name: 'Sign in' }));
      expect(await h1()).toBe('Overview');
      const cookies = await context.cookies();
      const session = cookies.find((c) => c.name === 'ks_session')!;
      expect(session.httpOnly).toBe(true);
      expect(session.sameSite).toBe('Strict');
      expect(cookies.some((c) => c.value.includes(service.token))).toBe(false);

      // The scope tree.
      await go(page.getByRole('link', { name: 'Scopes', exact: true }));
      expect(await h1()).toBe('Scopes');
      expect(await scopeRegion('registry.acme.io').count()).toBe(1);
      expect(await scopeRegion('registry.acme.io/team-a').innerText()).toContain('level audit');

      // Add an anchor by uploading a CA certificate.
      const rootId = expectedCertId(readFixture('certs/root-ca.pem'));
      await page.locator('#anchor-scope').selectOption('registry.acme.io');
      await page.getByLabel('Certificate or public key file').setInputFiles(fixturePath('certs', 'root-ca.pem'));
      await page.getByLabel('Name', { exact: true }).fill('acme-root');
      await go(page.getByRole('button', { name: 'Add anchor' }));
      expect(await page.getByRole('status').innerText()).toContain(`Added ca anchor acme-root (${rootId}) to registry.acme.io`);
      // It is effective at the scope and, inherited, at the child scope, with its subject and expiry.
      const child = await scopeRegion('registry.acme.io/team-a').innerText();
      expect(child).toContain(rootId);
      expect(child).toContain('CN=Keyshare Test Root CA');
      expect(child).toContain('2045-01-01');
      await page.screenshot({ path: join(SHOTS, 'ui-scopes.png'), fullPage: true });

      // Revoke it, from the anchor's row.
      await go(page.getByRole('link', { name: `Revoke acme-root (${rootId})` }).first());
      expect(await h1()).toBe('Revocations');
      expect(await page.getByLabel('Key ID (for a key)').inputValue()).toBe(rootId);
      await go(page.getByRole('button', { name: 'Revoke', exact: true }));
      // Issue 21: the plan first (the anchor leaves both scopes), and nothing changed until confirmed.
      expect(await h1()).toBe('Confirm');
      const plan = await page.getByRole('region', { name: 'Plan' }).innerText();
      expect(plan).toContain('registry.acme.io/team-a: update');
      expect(plan).toContain(`− ca anchor acme-root ${rootId}`);
      expect((await service.api('GET', '/revocations')).body.keys).toEqual([]);
      await page.screenshot({ path: join(SHOTS, 'ui-confirm.png'), fullPage: true });
      await go(page.getByRole('button', { name: `Confirm: Revoke key ${rootId} everywhere` }));
      expect(await page.getByRole('status').innerText()).toContain(`Revoked key ${rootId} everywhere`);
      expect(await page.getByRole('table', { name: /revoked keys/ }).innerText()).toContain(rootId);

      // A revoked key is no longer an effective anchor (CONTRACT.md).
      await go(page.getByRole('link', { name: 'Scopes', exact: true }));
      expect(await scopeRegion('registry.acme.io/team-a').innerText()).not.toContain(rootId);

      // The audit log has both changes, made with the admin token.
      await go(page.getByRole('link', { name: 'Audit log' }));
      const log = page.getByRole('table', { name: /Audit entries/ });
      const added = await log.getByRole('row').filter({ hasText: 'anchor.add' }).innerText();
      expect(added).toContain('registry.acme.io');
      const revoked = await log.getByRole('row').filter({ hasText: 'revocation.add' }).innerText();
      expect(revoked).toContain(rootId);
      expect(revoked).toContain('ok');
      await page.screenshot({ path: join(SHOTS, 'ui.png'), fullPage: true });

      // The API sees the same state.
      const rev = await service.api('GET', '/revocations');
      expect(rev.body.keys.map((k: { id: string }) => k.id)).toContain(rootId);

      // Issue 21: anchor and scope removal show their plan and wait for confirmation; Cancel changes nothing.
      await service.api('POST', '/scopes/registry.acme.io/anchors', { publicKey: readFixture('keys/ec-p256.pub.pem').toString('utf8'), name: 'ci' });
      const ciId = expectedSpkiId(readFixture('keys/ec-p256.pub.pem').toString('utf8'));
      await go(page.getByRole('link', { name: 'Scopes', exact: true }));
      await go(page.getByRole('button', { name: `Remove ci (${ciId}) from registry.acme.io` }));
      expect(await h1()).toBe('Confirm');
      expect(await page.getByRole('region', { name: 'Plan' }).innerText()).toContain(`registry.acme.io/team-a: update`);
      await go(page.getByRole('link', { name: 'Cancel' }));
      expect(await scopeRegion('registry.acme.io/team-a').innerText()).toContain(ciId);
      await go(page.getByRole('button', { name: `Remove ci (${ciId}) from registry.acme.io` }));
      await go(page.getByRole('button', { name: `Confirm: Remove anchor ${ciId} from registry.acme.io` }));
      expect(await page.getByRole('status').innerText()).toContain(`Removed anchor ${ciId} from registry.acme.io`);
      expect(await scopeRegion('registry.acme.io/team-a').innerText()).not.toContain(ciId);
      await go(page.getByRole('button', { name: 'Remove scope registry.acme.io/team-a' }));
      expect(await page.getByRole('region', { name: 'Plan' }).innerText()).toContain('registry.acme.io/team-a: remove');
      expect((await service.api('GET', '/scopes')).body.scopes.map((x: { scope: string }) => x.scope)).toContain('registry.acme.io/team-a');
      await go(page.getByRole('button', { name: 'Confirm: Remove scope registry.acme.io/team-a' }));
      expect(await page.getByRole('status').innerText()).toContain('Removed scope registry.acme.io/team-a');
      expect((await service.api('GET', '/scopes')).body.scopes.map((x: { scope: string }) => x.scope)).not.toContain('registry.acme.io/team-a');
      const entries = (await service.api('GET', '/audit')).body.entries as { action: string; details: { via?: string } | null }[];
      expect(entries.filter((e) => e.details?.via === 'console').map((e) => e.action)).toEqual(expect.arrayContaining(['revocation.add', 'anchor.remove', 'scope.delete']));

      // Signing out ends the session on the server.
      await go(page.getByRole('button', { name: 'Sign out' }));
      expect(await h1()).toBe('Sign in');
      await page.goto(`${service.url}/ui/scopes`);
      expect(await h1()).toBe('Sign in');
    });
  });
}
