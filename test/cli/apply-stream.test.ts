/**
 * Issue 17, item 5: `keyshare apply` of a file over the admin API's body limit, through the real
 * CLI (bin/keyshare.js, the build that `npm test` makes first). The CLI streams the file as
 * NDJSON; the service applies it as one atomic change and publishes one version. The service
 * here has a 64 KiB body limit, so that a few hundred scopes are over it.
 */
import { execFile } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { readFixtureText } from '../../fixtures/index.js';
import { packageRoot } from '../../service/util/paths.js';
import { cleanupTempDirs, startTestService, tempDir, type TestService } from '../support/service.js';

vi.setConfig({ testTimeout: 180_000 });

const BIN = join(packageRoot(), 'bin', 'keyshare.js');
const LIMIT = 64 * 1024;
let svc: TestService;
let scratch: string;

beforeAll(async () => {
  expect(existsSync(join(packageRoot(), 'dist', 'cli', 'main.js')), 'dist/ is missing: run `npm run build`').toBe(true);
  scratch = tempDir('keyshare-apply-stream-');
  svc = await startTestService({ server: { maxBodyBytes: LIMIT } });
});
afterAll(async () => {
  await svc?.close();
  cleanupTempDirs();
});

function apply(file: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KEYSHARE_')));
  return new Promise((done) =>
    execFile(process.execPath, [BIN, 'apply', file, '--server', svc.url, '--token', svc.token, '--json'], { cwd: scratch, env, timeout: 150_000 }, (error, stdout, stderr) =>
      done({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout: stdout.toString(), stderr: stderr.toString() }),
    ),
  );
}

const KEYS = [readFixtureText('keys/ec-p256.pub.pem'), readFixtureText('keys/ed25519.pub.pem')];
const scopes = (n: number, tag: string) => Array.from({ length: n }, (_, i) => ({ scope: `${tag}${i}.stream.example`, anchors: [{ publicKey: KEYS[i % 2], name: `k${i % 2}` }] }));
const timestampVersion = () => svc.instance.publisher.latestMetadata('timestamp')!.version;
const scopeCount = async () => (await svc.instance.store.listScopes()).length;

describe('when the file is over the body limit', () => {
  it('applies it with one command, as one change published as one version', async () => {
    const file = join(scratch, 'big.json');
    writeFileSync(file, JSON.stringify({ scopes: scopes(400, 'a'), revoked: { keys: [{ id: `sha256:${'ab'.repeat(32)}` }] } }));
    const before = timestampVersion();
    const r = await apply(file);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.summary.scopesCreated).toHaveLength(400);
    expect(out.summary.revocationsAdded).toBe(1);
    expect(out.published.timestampVersion).toBe(before + 1);
    expect(timestampVersion()).toBe(before + 1);
    expect(await scopeCount()).toBe(400);
  });

  it('changes nothing when the last entry is bad, and names it by its place in the file', async () => {
    const file = join(scratch, 'bad.yaml');
    const list = [...scopes(400, 'b'), { scope: 'last.stream.example', anchors: [{ publicKey: readFixtureText('keys/garbage.pub.pem') }] }];
    // YAML too: the CLI reads it, then streams it the same way.
    writeFileSync(file, `scopes:\n${list.map((s) => `  - ${JSON.stringify(s)}`).join('\n')}\n`);
    const before = timestampVersion();
    const count = await scopeCount();
    const r = await apply(file);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^keyshare: APPLY_INVALID: 1 invalid entry, nothing was changed: scopes\[400\]\.anchors\[0\]: BAD_PUBLIC_KEY: /);
    await svc.instance.publisher.flush();
    expect(await scopeCount()).toBe(count);
    expect(timestampVersion()).toBe(before);
  });
});
