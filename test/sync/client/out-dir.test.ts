/** writeOutDir: --out replaced as a whole by rename, or left exactly as it was. */
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isKeyshareError } from '../../../service/errors.js';
import { MANIFEST, outManifest, writeOutDir } from '../../../sync/client/index.js';
import { cleanupTempDirs, tempDir } from '../../support/service.js';
import { treeSnapshot } from './support.js';

afterAll(() => cleanupTempDirs());

function refusal(f: () => unknown): { code: string; message: string } {
  try {
    f();
  } catch (e) {
    if (isKeyshareError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('expected a refusal');
}
const codeOf = (f: () => unknown) => refusal(f).code;

describe('when --out does not exist', () => {
  it('creates it with the files, readable by other users, and nothing beside it', () => {
    const parent = tempDir();
    const out = writeOutDir(join(parent, 'out'), [
      { path: 'policy.json', content: '{}\n' },
      { path: 'keys/a.gpg', content: new Uint8Array([1, 2, 3]) },
    ]);
    expect(readdirSync(parent)).toEqual(['out']);
    expect(treeSnapshot(out)).toEqual({ [MANIFEST]: expect.any(String), keys: 'dir', 'keys/a.gpg': expect.any(String), 'policy.json': expect.any(String) });
    expect(JSON.parse(readFileSync(join(out, MANIFEST), 'utf8')).files.map((f: { path: string }) => f.path)).toEqual(['keys/a.gpg', 'policy.json']);
    expect(statSync(out).mode & 0o777).toBe(0o755);
    expect(statSync(join(out, 'policy.json')).mode & 0o777).toBe(0o644);
  });
});

describe('when --out holds an earlier fetch', () => {
  it('leaves it as it is when the files are the same (issue 25: a refresh with no change writes nothing), and replaces it when a file or a mode differs', () => {
    const parent = tempDir();
    const out = join(parent, 'out');
    const files = [
      { path: 'policy.json', content: '{}\n' },
      { path: 'keys/a.gpg', content: new Uint8Array([1, 2, 3]) },
    ];
    writeOutDir(out, files);
    const first = statSync(out).ino;
    writeOutDir(out, files);
    expect(statSync(out).ino).toBe(first);
    expect(readdirSync(parent)).toEqual(['out']);
    writeOutDir(out, [files[0]!, { ...files[1]!, mode: 0o600 }]);
    const second = statSync(out).ino;
    expect(second).not.toBe(first);
    expect(statSync(join(out, 'keys/a.gpg')).mode & 0o777).toBe(0o600);
    writeOutDir(out, [files[0]!, { path: 'keys/a.gpg', content: new Uint8Array([1, 2, 4]), mode: 0o600 }]);
    expect(statSync(out).ino).not.toBe(second);
    expect([...readFileSync(join(out, 'keys/a.gpg'))]).toEqual([1, 2, 4]);
    expect(readdirSync(parent)).toEqual(['out']);
  });

  it('replaces it as a whole: files no longer written are gone', () => {
    const out = join(tempDir(), 'out');
    writeOutDir(out, [{ path: 'old.pem', content: 'old' }, { path: 'policy.json', content: '1' }]);
    writeOutDir(out, [{ path: 'policy.json', content: '2' }]);
    expect(readdirSync(out).sort()).toEqual([MANIFEST, 'policy.json']);
    expect(readFileSync(join(out, 'policy.json'), 'utf8')).toBe('2');
  });

  it('leaves it untouched when a file cannot be written, and removes the staging dir', () => {
    const parent = tempDir();
    const out = join(parent, 'out');
    writeOutDir(out, [{ path: 'policy.json', content: '1' }]);
    const before = treeSnapshot(out);
    expect(codeOf(() => writeOutDir(out, [{ path: 'policy.json', content: '2' }, { path: '../escape.json', content: 'x' }]))).toBe('OUT_INVALID');
    expect(treeSnapshot(out)).toEqual(before);
    expect(readdirSync(parent)).toEqual(['out']);
  });
});

describe('when --out is not ours to replace', () => {
  it('refuses a directory with files fetch does not write', () => {
    const out = tempDir();
    writeFileSync(join(out, 'registries.conf'), 'x');
    mkdirSync(join(out, 'localkeys'));
    expect(codeOf(() => writeOutDir(out, [{ path: 'policy.json', content: '{}' }]))).toBe('OUT_INVALID');
    expect(readdirSync(out).sort()).toEqual(['localkeys', 'registries.conf']);
  });

  it('refuses a file', () => {
    const file = join(tempDir(), 'out');
    writeFileSync(file, 'x');
    expect(codeOf(() => writeOutDir(file, []))).toBe('OUT_INVALID');
    expect(readFileSync(file, 'utf8')).toBe('x');
  });
});

/** Issue 15: fetch replaces or removes only the files its manifest names. */
describe('when the user put files of their own into an --out that fetch wrote', () => {
  // What a containers, notation and pem fetch write, all in one --out.
  const written = [
    { path: 'policy.json', content: '{}\n' },
    { path: 'keys/team-a.gpg', content: new Uint8Array([1, 2]) },
    { path: 'registries.d/keyshare.yaml', content: 'docker: {}\n' },
    { path: 'truststore/x509/ca/acme/root.pem', content: 'root' },
    { path: 'acme.pem', content: 'bundle' },
  ];
  // Each file kind of issue 15: inside keys/, registries.d/, truststore/, top-level *.json, *.pem, anything else.
  const userFiles = [
    'keys/mine.gpg',
    'registries.d/lookaside.yaml',
    'truststore/x509/ca/acme/my-own-ca.pem',
    'truststore/x509/ca/mine/extra.pem',
    'settings.json',
    'my-own-ca.pem',
    'mine.txt',
  ];

  for (const file of userFiles) {
    it(`stops a refresh with OUT_INVALID naming ${file}, and changes nothing`, () => {
      const out = join(tempDir(), 'out');
      writeOutDir(out, written);
      mkdirSync(join(out, file, '..'), { recursive: true });
      writeFileSync(join(out, file), 'the user\'s');
      const before = treeSnapshot(out);
      const r = refusal(() => writeOutDir(out, [{ path: 'policy.json', content: '{"new":1}\n' }]));
      expect(r.code).toBe('OUT_INVALID');
      expect(r.message).toContain(file);
      expect(treeSnapshot(out)).toEqual(before);
    });
  }

  it('stops a refresh when a file fetch wrote was edited (the edit is the user\'s)', () => {
    const out = join(tempDir(), 'out');
    writeOutDir(out, written);
    writeFileSync(join(out, 'registries.d/keyshare.yaml'), 'docker: {}\ndefault-docker: { lookaside: https://sigs.acme.io }\n');
    const before = treeSnapshot(out);
    const r = refusal(() => writeOutDir(out, written));
    expect(r).toMatchObject({ code: 'OUT_INVALID', message: expect.stringContaining('registries.d/keyshare.yaml was changed') });
    expect(treeSnapshot(out)).toEqual(before);
  });

  it('stops a refresh for an empty directory or a symlink of the user\'s', () => {
    for (const add of [(out: string) => mkdirSync(join(out, 'keys', 'local')), (out: string) => symlinkSync('/etc/hostname', join(out, 'hosts.pem'))]) {
      const out = join(tempDir(), 'out');
      writeOutDir(out, written);
      add(out);
      const before = treeSnapshot(out);
      expect(codeOf(() => writeOutDir(out, written))).toBe('OUT_INVALID');
      expect(treeSnapshot(out)).toEqual(before);
    }
  });

  it('stops a refresh when the manifest is not one', () => {
    const out = join(tempDir(), 'out');
    writeOutDir(out, written);
    writeFileSync(join(out, MANIFEST), '{"files": "everything"}');
    expect(refusal(() => writeOutDir(out, written)).message).toContain(MANIFEST);
  });

  it('replaces and removes only manifest files once the user moved theirs out', () => {
    const out = join(tempDir(), 'out');
    writeOutDir(out, written);
    writeFileSync(join(out, 'mine.txt'), 'x');
    expect(codeOf(() => writeOutDir(out, written.slice(0, 2)))).toBe('OUT_INVALID');
    rmSync(join(out, 'mine.txt'));
    writeOutDir(out, written.slice(0, 2));
    expect(Object.keys(treeSnapshot(out))).toEqual([MANIFEST, 'keys', 'keys/team-a.gpg', 'policy.json']);
  });
});

describe('when --out was written by a keyshare without manifests', () => {
  /** An --out as the earlier keyshare left it: the files, no manifest. */
  function legacyOut(files: { path: string; content: string }[]): string {
    const out = join(tempDir(), 'out');
    for (const f of files) {
      mkdirSync(join(out, f.path, '..'), { recursive: true });
      writeFileSync(join(out, f.path), f.content);
    }
    return out;
  }

  it('replaces it when this fetch rewrites every file in it, and adds the manifest', () => {
    const out = legacyOut([{ path: 'policy.json', content: 'old' }, { path: 'registries.d/keyshare.yaml', content: 'old' }]);
    const files = [{ path: 'policy.json', content: 'new' }, { path: 'registries.d/keyshare.yaml', content: 'new' }, { path: 'keys/a.gpg', content: 'k' }];
    writeOutDir(out, files);
    expect(readFileSync(join(out, 'policy.json'), 'utf8')).toBe('new');
    expect(JSON.parse(readFileSync(join(out, MANIFEST), 'utf8'))).toEqual(outManifest(files));
  });

  it('refuses, naming the file, when it holds one this fetch would not rewrite', () => {
    const out = legacyOut([{ path: 'policy.json', content: 'old' }, { path: 'registries.d/lookaside.yaml', content: 'mine' }]);
    const before = treeSnapshot(out);
    const r = refusal(() => writeOutDir(out, [{ path: 'policy.json', content: 'new' }, { path: 'registries.d/keyshare.yaml', content: 'new' }]));
    expect(r).toMatchObject({ code: 'OUT_INVALID', message: expect.stringContaining('registries.d/lookaside.yaml') });
    expect(r.message).toContain(MANIFEST);
    expect(treeSnapshot(out)).toEqual(before);
  });
});
