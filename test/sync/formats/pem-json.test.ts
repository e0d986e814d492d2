import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isKeyshareError } from '../../../service/errors.js';
import { storeName, writeFormat, writeJson, writePem, type FormatName } from '../../../sync/formats/index.js';
import { certAnchor, doc, keyAnchor, text } from './helpers.js';

const OUT = '/tmp/out';

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (isKeyshareError(e)) return e.code;
    throw e;
  }
  throw new Error('expected a KeyshareError');
}

describe('store names', () => {
  it.each([
    ['*', '_'],
    ['*.example.com', '_.example.com'],
    ['localhost:5000', 'localhost_5000'],
    ['registry.acme.io/team-a/app', 'registry.acme.io_team-a_app'],
  ])('names the store of %s %s', (scope, store) => {
    expect(storeName(scope)).toBe(store);
  });

  describe('when two scopes share a store name', () => {
    it('refuses with FORMAT_UNSUPPORTED', async () => {
      const p = writePem({ documents: [doc('acme.io/a_b', []), doc('acme.io/a/b', [])], repositories: [], outDir: OUT });
      expect(await codeOf(p)).toBe('FORMAT_UNSUPPORTED');
    });
  });

  describe('when a scope is given twice', () => {
    it('refuses with FORMAT_INPUT_INVALID', async () => {
      const p = writeJson({ documents: [doc('acme.io', []), doc('acme.io', [])], repositories: [], outDir: OUT });
      expect(await codeOf(p)).toBe('FORMAT_INPUT_INVALID');
    });
  });
});

describe('pem format', () => {
  describe('when a scope has certificate anchors', () => {
    it('writes one bundle with every certificate, in a stable order', async () => {
      const anchors = [certAnchor('tsa-ca', 'tsa', 't'), certAnchor('root-ca', 'ca', 'r'), certAnchor('intermediate-ca', 'signingAuthority', 'i')];
      const a = await writePem({ documents: [doc('*', anchors)], repositories: [], outDir: OUT });
      const b = await writePem({ documents: [doc('*', [...anchors].reverse())], repositories: [], outDir: OUT });
      expect(b).toEqual(a);
      expect(a.files.map((f) => f.path)).toEqual(['_.pem']);
      const bundle = text(a.files, '_.pem');
      const blocks = bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/g)!;
      expect(blocks).toHaveLength(3);
      expect(blocks.join('')).toBe(bundle);
      expect(blocks.map((pem) => new X509Certificate(pem).subject.split('\n').find((l) => l.startsWith('CN=')))).toEqual(
        [...anchors].sort((x, y) => (x.id < y.id ? -1 : 1)).map((x) => new X509Certificate(x.certificate!).subject.split('\n').find((l) => l.startsWith('CN='))),
      );
    });
  });

  describe('when a scope has no certificates', () => {
    it('skips it with a warning', async () => {
      const out = await writePem({ documents: [doc('acme.io', [keyAnchor('ec-p256', 'k')])], repositories: [], outDir: OUT });
      expect(out.files).toEqual([]);
      expect(out.warnings).toEqual([expect.stringContaining('acme.io')]);
    });
  });
});

describe('json format', () => {
  describe('when documents are fetched', () => {
    it('writes each as published, plus an index of scope to file', async () => {
      const d1 = doc('*', [keyAnchor('ec-p256', 'k')]);
      const d2 = doc('localhost:5000', [certAnchor('root-ca', 'ca', 'r')], 'audit');
      const out = await writeJson({ documents: [d2, d1], repositories: [], outDir: OUT });
      expect(out.files.map((f) => f.path)).toEqual(['_.json', 'index.json', 'localhost_5000.json']);
      expect(text(out.files, '_.json')).toBe(JSON.stringify(d1, null, 2) + '\n');
      expect(JSON.parse(text(out.files, 'localhost_5000.json'))).toEqual(d2);
      expect(JSON.parse(text(out.files, 'index.json'))).toEqual({
        scopes: [
          { scope: '*', file: '_.json', version: 3 },
          { scope: 'localhost:5000', file: 'localhost_5000.json', version: 3 },
        ],
      });
    });
  });
});

describe('writeFormat', () => {
  it('dispatches to the named writer', async () => {
    const out = await writeFormat('json', { documents: [doc('acme.io', [])], repositories: [], outDir: OUT });
    expect(out.files.map((f) => f.path)).toEqual(['acme.io.json', 'index.json']);
  });

  describe('when the format is unknown', () => {
    it('refuses with FORMAT_UNSUPPORTED', async () => {
      expect(await codeOf(writeFormat('cosign' as FormatName, { documents: [], repositories: [], outDir: OUT }))).toBe('FORMAT_UNSUPPORTED');
    });
  });
});
