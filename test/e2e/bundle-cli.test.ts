/**
 * `keyshare bundle export|import` through the real CLI (`node bin/keyshare.js`, the dist/ that
 * `npm test` builds first), on data dirs with no service running: exit 0 on success, 1 with one
 * line `keyshare: CODE: message`, 2 on a usage error (CONTRACT.md "CLI").
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFixtureText } from '../../fixtures/index.js';
import { openInstance } from '../../service/instance.js';
import { packageRoot } from '../../service/util/paths.js';
import { cleanupTempDirs, newDataDir, tempDir } from '../support/service.js';

const BIN = join(packageRoot(), 'bin', 'keyshare.js');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function keyshare(args: string[]): Promise<Run> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KEYSHARE_')));
  return new Promise((done) => {
    execFile(process.execPath, [BIN, ...args], { cwd: scratch, env: clean, timeout: 60_000 }, (error, stdout, stderr) => {
      done({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout: stdout.toString(), stderr: stderr.toString() });
    });
  });
}

function expectFailure(run: Run, code: string): void {
  expect(run.stderr, `stdout: ${run.stdout}`).toMatch(new RegExp(`^keyshare: ${code}: \\S.*\\n$`));
  expect(run.code).toBe(1);
}

let scratch: string;
let origin: string;
let site: string;

beforeAll(async () => {
  expect(existsSync(join(packageRoot(), 'dist', 'cli', 'main.js')), 'dist/ is missing: run `npm run build`').toBe(true);
  scratch = tempDir('keyshare-bundle-cli-');
  ({ dataDir: origin } = await newDataDir());
  ({ dataDir: site } = await newDataDir());
  const inst = await openInstance({ dataDir: origin });
  try {
    await inst.service.apply({ scopes: [{ scope: 'registry.acme.io', anchors: [{ publicKey: readFixtureText('keys/ec-p256.pub.pem') }] }] } as never);
    await inst.publisher.flush();
  } finally {
    await inst.close();
  }
});
afterAll(cleanupTempDirs);

describe('keyshare bundle', () => {
  it('exports, imports, re-imports idempotently, and refuses an older bundle with ROLLBACK', async () => {
    const first = join(scratch, 'first.tar.gz');
    const e1 = await keyshare(['bundle', 'export', '--data', origin, '--out', first, '--valid-for', '45d', '--json']);
    expect(e1.code, e1.stderr).toBe(0);
    const r1 = JSON.parse(e1.stdout);
    expect(r1.scopes).toBe(1);
    expect(Date.parse(r1.expires) - Date.parse(r1.createdAt)).toBe(45 * 86_400_000);
    expect(readFileSync(first).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));

    const second = join(scratch, 'second.tar');
    expect((await keyshare(['bundle', 'export', '--data', origin, '--out', second])).code).toBe(0);

    const rootFile = join(origin, 'root.json');
    const i2 = await keyshare(['bundle', 'import', second, '--root', rootFile, '--data', site, '--json']);
    expect(i2.code, i2.stderr).toBe(0);
    expect(JSON.parse(i2.stdout)).toMatchObject({ changed: true, origin: r1.origin, scopes: { created: ['registry.acme.io'] } });

    const again = await keyshare(['bundle', 'import', second, '--root', rootFile, '--data', site]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/already imported/);

    expectFailure(await keyshare(['bundle', 'import', first, '--root', rootFile, '--data', site]), 'ROLLBACK');
    expectFailure(await keyshare(['bundle', 'import', second, '--root', join(site, 'root.json'), '--data', site]), 'BAD_SIGNATURE');
  });

  it('is a usage error (exit 2) without --out or --root', async () => {
    expect((await keyshare(['bundle', 'export', '--data', origin])).code).toBe(2);
    expect((await keyshare(['bundle', 'import', 'x.tar', '--data', site])).code).toBe(2);
  });
});
