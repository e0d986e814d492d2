/**
 * The TUF attack suite (TUF spec 1.0 "Goals: protect against the following attacks", and the
 * scenarios of theupdateframework/tuf-conformance), run against every consumer of a keyshare
 * repository: `keyshare fetch`, `keyshare check`, `keyshare bundle import`, and upstream sync
 * in federate and mirror mode.
 *
 * Each scenario starts from a consumer that accepted the honest repository (its "last good
 * state"), then lets the attacker change what is served: files signed with the repository's
 * own keys at chosen versions and expiries (an attacker holding some keys, or a repository
 * owner who erred), files signed with other keys, replays, tampering, and a misbehaving
 * server. A refusal must carry its code and leave the last good state exactly as it was: the
 * fetch cache and --out, the check cache, the importing store.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { cleanupTempDirs } from '../support/service.js';
import { CONSUMERS, HTTP_CONSUMERS, lastRefusal, makeConsumer, type ConsumerName } from './support/consumers.js';
import { TestKey, TestRepository, newAnchor, type Envelope } from './support/repository.js';
import { EvilServer, type Misbehaviour } from './support/server.js';

const SCOPE = 'registry.test';
const REPOSITORY = 'registry.test/app';
const DAY = 86_400_000;
const past = () => new Date(Date.now() - DAY);

type Expected = string | null;
/** One code for every consumer, or a default and the consumers that differ. */
type Expectation = Expected | ({ default: Expected } & Partial<Record<ConsumerName, Expected>>);

/** Upstream sync reports a download over its cap as TOO_LARGE (service/federation/upstream/errors.ts), where tuf-js says "Max length reached". */
const UPSTREAM_TOO_LARGE = { 'upstream federate': 'TOO_LARGE', 'upstream mirror': 'TOO_LARGE' } as const;

interface Scenario {
  /** The `it` title. */
  name: string;
  /** Before the consumer's first (accepted) run: roles, thresholds, earlier versions. */
  setup?(repo: TestRepository, saved: Map<string, any>): void;
  /** After it: what the attacker does. Returns the files to serve (default: the repository's). */
  attack(repo: TestRepository, saved: Map<string, any>, server: { misbehave(f: (path: string) => Misbehaviour | undefined): void }): Map<string, Buffer> | void;
  /** The refusal code (null: the consumer must accept), per consumer or for all. */
  expect: Expectation;
  /** Consumers it applies to (a misbehaving HTTP server means nothing to a bundle). */
  consumers?: ConsumerName[];
  /** How far the consumer's clock runs ahead during the attack (ms). */
  clockAhead?: number;
}

const HTTP = HTTP_CONSUMERS;

/** A new version of the trust document: something for the attacker to get in the way of. */
function change(repo: TestRepository): void {
  repo.setScope(SCOPE, [newAnchor('next'), ...repo.anchors(SCOPE)]);
}

function copyWith(repo: TestRepository, path: string, bytes: Buffer): Map<string, Buffer> {
  const files = repo.capture();
  files.set(path, bytes);
  return files;
}

/** The trust document's consistent-snapshot file name at the current version. */
const trustFile = (repo: TestRepository) => repo.targetFile(`trust/${SCOPE}.json`);
const flipHex = (s: string) => (s[0] === '0' ? '1' : '0') + s.slice(1);
const duplicateFirstSignature = (env: Envelope) => void env.signatures.push({ ...env.signatures[0]! });

/** Two keys, threshold two, for a role (in a new root). */
function twoOfTwo(repo: TestRepository, role: 'root' | 'snapshot'): void {
  repo.rotate(role, 2);
  repo.thresholds[role] = 2;
  repo.publishRoot();
  repo.publish();
}

const scenarios: Record<string, Scenario[]> = {
  'arbitrary installation and forged signatures (TUF 5.4.2, 5.5.3, 5.6.3, 5.7.3)': [
    {
      name: 'refuses a target file replaced by someone without keys with HASH_MISMATCH',
      attack(repo) {
        change(repo);
        repo.publish();
        const doc = repo.json(trustFile(repo));
        doc.anchors = [newAnchor('evil')];
        return copyWith(repo, trustFile(repo), Buffer.from(JSON.stringify(doc)));
      },
      expect: 'HASH_MISMATCH',
    },
    ...(['timestamp', 'snapshot', 'targets'] as const).map(
      (role): Scenario => ({
        name: `refuses ${role} metadata signed by a key the root does not name with BAD_SIGNATURE`,
        attack(repo) {
          change(repo);
          repo.publish({ roles: ['targets', 'snapshot', 'timestamp'], signers: { [role]: [TestKey.generate()] } });
        },
        expect: 'BAD_SIGNATURE',
      }),
    ),
    {
      name: 'refuses a timestamp whose signature bytes were altered with BAD_SIGNATURE',
      attack(repo) {
        repo.publish({ edit: { timestamp: (env) => void (env.signatures[0]!.sig = flipHex(env.signatures[0]!.sig)) } });
      },
      expect: 'BAD_SIGNATURE',
    },
    {
      name: 'refuses targets metadata changed after signing (an added target) with BAD_SIGNATURE',
      attack(repo) {
        change(repo);
        repo.publish({ edit: { targets: (env) => void (env.signed.targets['evil.json'] = { length: 2, hashes: { sha256: '0'.repeat(64) } }) } });
      },
      expect: 'BAD_SIGNATURE',
    },
  ],

  'thresholds, and duplicate key IDs counted once (TUF 5.3.4, 5.4.2)': [
    {
      name: 'refuses a snapshot signed by one of the two keys its threshold needs with BAD_SIGNATURE',
      setup: (repo) => twoOfTwo(repo, 'snapshot'),
      attack(repo) {
        repo.publish({ roles: ['snapshot', 'timestamp'], signers: { snapshot: [repo.keys.snapshot[0]!] } });
      },
      expect: 'BAD_SIGNATURE',
    },
    {
      name: 'refuses a snapshot signed twice by the same key to reach a threshold of two with BAD_SIGNATURE',
      setup: (repo) => twoOfTwo(repo, 'snapshot'),
      attack(repo) {
        repo.publish({ roles: ['snapshot', 'timestamp'], signers: { snapshot: [repo.keys.snapshot[0]!] }, edit: { snapshot: duplicateFirstSignature } });
      },
      expect: 'BAD_SIGNATURE',
    },
    {
      name: 'refuses a new root signed by one of the two root keys the old root requires with BAD_SIGNATURE',
      setup: (repo) => twoOfTwo(repo, 'root'),
      attack(repo) {
        const old = repo.keys.root;
        repo.rotate('timestamp');
        repo.publishRoot({ signers: [old[0]!] });
        repo.publish();
      },
      expect: 'BAD_SIGNATURE',
    },
    {
      name: 'refuses a new root signed twice by the same root key to reach a threshold of two with BAD_SIGNATURE',
      setup: (repo) => twoOfTwo(repo, 'root'),
      attack(repo) {
        const old = repo.keys.root;
        repo.rotate('timestamp');
        repo.publishRoot({ signers: [old[0]!], edit: duplicateFirstSignature });
        repo.publish();
      },
      expect: 'BAD_SIGNATURE',
    },
    {
      name: 'refuses a root that lists one key ID twice in a role as malformed',
      attack(repo) {
        repo.rotate('snapshot');
        repo.publishRoot({
          mutate: (s) => {
            s.roles.snapshot.keyids.push(s.roles.snapshot.keyids[0]);
            s.roles.snapshot.threshold = 2;
          },
        });
        repo.publish();
      },
      expect: { default: 'METADATA_INVALID', 'bundle import': 'BUNDLE_INVALID' },
    },
  ],

  'rollback attacks (TUF 5.4.3, 5.5.5, 5.6.4)': [
    {
      name: 'refuses an older timestamp, snapshot and targets replayed together with ROLLBACK',
      setup(repo, saved) {
        saved.set('old', repo.capture());
        change(repo);
        repo.publish();
      },
      attack: (_repo, saved) => saved.get('old'),
      expect: 'ROLLBACK',
    },
    {
      name: 'refuses a newer timestamp that names an older snapshot version with ROLLBACK',
      setup(repo) {
        repo.publish();
        repo.publish();
      },
      attack(repo) {
        repo.publish({ versions: { snapshot: repo.versions.snapshot - 1 } });
      },
      expect: 'ROLLBACK',
    },
    {
      name: 'refuses a newer snapshot that names an older targets version with ROLLBACK',
      setup(repo) {
        change(repo);
        repo.publish();
      },
      attack(repo) {
        change(repo);
        repo.publish({ versions: { targets: repo.versions.targets - 1 } });
      },
      expect: 'ROLLBACK',
    },
  ],

  'fast-forward attack recovery (TUF 5.3.11)': [
    {
      name: 'accepts timestamp versions below a fast-forwarded one once the timestamp key is rotated',
      setup(repo) {
        repo.publish({ versions: { timestamp: 1000 } });
      },
      attack(repo) {
        repo.rotate('timestamp');
        repo.publishRoot();
        change(repo);
        repo.publish({ versions: { timestamp: 3 } });
      },
      expect: null,
    },
    {
      name: 'accepts snapshot versions below a fast-forwarded one once the snapshot and timestamp keys are rotated',
      setup(repo) {
        repo.publish({ versions: { snapshot: 1000 } });
      },
      attack(repo) {
        repo.rotate('snapshot');
        repo.rotate('timestamp');
        repo.publishRoot();
        change(repo);
        repo.publish({ versions: { snapshot: 3, timestamp: 3 } });
      },
      expect: null,
    },
    {
      name: 'accepts targets versions below a fast-forwarded one once the snapshot key is rotated',
      setup(repo) {
        repo.publish({ roles: ['targets', 'snapshot', 'timestamp'], versions: { targets: 1000 } });
      },
      attack(repo) {
        repo.rotate('snapshot');
        repo.publishRoot();
        change(repo);
        repo.publish({ versions: { targets: 3 } });
      },
      expect: null,
    },
  ],

  'indefinite freeze (TUF 5.3.10, 5.4.4, 5.5.6, 5.6.5)': [
    ...(['timestamp', 'snapshot', 'targets'] as const).map(
      (role): Scenario => ({
        name: `refuses an expired ${role} with EXPIRED_METADATA`,
        attack(repo) {
          change(repo);
          repo.publish({ roles: ['targets', 'snapshot', 'timestamp'], expires: { [role]: past() } });
        },
        expect: 'EXPIRED_METADATA',
      }),
    ),
    {
      name: 'refuses an expired newest root with EXPIRED_METADATA',
      attack(repo) {
        repo.publishRoot({ expires: past() });
        repo.publish();
      },
      expect: 'EXPIRED_METADATA',
    },
    {
      name: 'accepts an expired intermediate root when the newest one is valid (only the final root must be fresh)',
      attack(repo) {
        repo.publishRoot({ expires: past() });
        repo.publishRoot();
        repo.publish();
      },
      expect: null,
    },
    {
      name: 'refuses the same metadata served on after it expired (a frozen server) with EXPIRED_METADATA',
      attack: () => undefined,
      clockAhead: 2 * DAY,
      expect: 'EXPIRED_METADATA',
    },
  ],

  'mix-and-match (TUF 5.5.2, 5.6.2, 5.6.4)': [
    {
      name: 'refuses an older targets served under the version the new snapshot names with ROLLBACK',
      setup(repo, saved) {
        change(repo);
        repo.publish();
        saved.set('targets', repo.file(`${repo.versions.targets}.targets.json`));
      },
      attack(repo, saved) {
        change(repo);
        repo.publish();
        return copyWith(repo, `${repo.versions.targets}.targets.json`, saved.get('targets'));
      },
      expect: 'ROLLBACK',
    },
    {
      name: 'refuses an older snapshot served under the version the new timestamp names with HASH_MISMATCH',
      setup(repo, saved) {
        repo.publish();
        saved.set('snapshot', repo.file(`${repo.versions.snapshot}.snapshot.json`));
      },
      attack(repo, saved) {
        repo.publish();
        return copyWith(repo, `${repo.versions.snapshot}.snapshot.json`, saved.get('snapshot'));
      },
      expect: 'HASH_MISMATCH',
    },
    {
      name: 'refuses targets that differ from the hashes the snapshot lists with HASH_MISMATCH',
      setup(repo) {
        repo.snapshotHashes = true;
        repo.publish();
      },
      attack(repo) {
        change(repo);
        repo.publish();
        const path = `${repo.versions.targets}.targets.json`;
        // The same signed metadata, re-serialised: valid signatures, other (and more) bytes.
        return copyWith(repo, path, Buffer.from(JSON.stringify(repo.json(path), null, 1)));
      },
      expect: { default: 'HASH_MISMATCH', ...UPSTREAM_TOO_LARGE },
    },
  ],

  'endless data (TUF 5.3.3, 5.4.1, 5.5.1, 5.6.1, 5.7.3: every download capped)': [
    {
      name: 'stops an endless timestamp.json at its cap with HASH_MISMATCH',
      attack: (_repo, _saved, server) => server.misbehave((p) => (p === 'timestamp.json' ? { endless: true } : undefined)),
      consumers: HTTP,
      expect: { default: 'HASH_MISMATCH', ...UPSTREAM_TOO_LARGE },
    },
    {
      name: 'stops an endless next root at its cap with HASH_MISMATCH',
      attack: (repo, _saved, server) => server.misbehave((p) => (p === `${repo.versions.root + 1}.root.json` ? { endless: true } : undefined)),
      consumers: HTTP,
      expect: { default: 'HASH_MISMATCH', ...UPSTREAM_TOO_LARGE },
    },
    {
      name: 'stops an endless snapshot at the length the timestamp gives with HASH_MISMATCH',
      attack(repo, _saved, server) {
        repo.publish();
        server.misbehave((p) => (p === `${repo.versions.snapshot}.snapshot.json` ? { endless: true } : undefined));
      },
      consumers: HTTP,
      expect: { default: 'HASH_MISMATCH', ...UPSTREAM_TOO_LARGE },
    },
    {
      name: 'stops an endless target file at its signed length with HASH_MISMATCH',
      attack(repo, _saved, server) {
        change(repo);
        repo.publish();
        const file = trustFile(repo);
        server.misbehave((p) => (p === file ? { endless: true } : undefined));
      },
      consumers: HTTP,
      expect: { default: 'HASH_MISMATCH', ...UPSTREAM_TOO_LARGE },
    },
    {
      // tuf-js caps targets metadata at 5 MB; upstream sync at its maxFileBytes (16 MiB): over both.
      name: 'refuses signed targets metadata over the cap with HASH_MISMATCH',
      attack(repo) {
        change(repo);
        repo.publish({ mutate: { targets: (s) => void (s.custom = { padding: 'x'.repeat(17_000_000) }) } });
      },
      expect: { default: 'HASH_MISMATCH', ...UPSTREAM_TOO_LARGE },
    },
    {
      name: 'refuses a target whose signed length is over the cap with TOO_LARGE, before downloading it',
      attack(repo) {
        change(repo);
        // The scope's trust file: every consumer reads it (`check` reads no index since issue 17).
        repo.publish({ mutate: { targets: (s) => void (s.targets[`trust/${SCOPE}.json`].length = 2 ** 31) } });
      },
      // A bundle carries the file itself: its real length differs from the signed one.
      expect: { default: 'TOO_LARGE', 'bundle import': 'HASH_MISMATCH' },
    },
  ],

  'a malicious mirror': [
    {
      name: 'refuses another repository (its own root and keys) with BAD_SIGNATURE',
      attack() {
        const other = TestRepository.create({ scope: SCOPE });
        for (let i = 0; i < 3; i++) other.publish();
        return other.files;
      },
      expect: 'BAD_SIGNATURE',
    },
    {
      name: 'refuses a newer root signed by the mirror alone with BAD_SIGNATURE',
      attack(repo) {
        const mirror = TestKey.generate();
        repo.keys.root = [mirror];
        repo.rotate('timestamp');
        repo.publishRoot({ signers: [mirror] });
        repo.publish();
      },
      expect: 'BAD_SIGNATURE',
    },
    {
      name: 'refuses a mirror that answers 404 to everything with DOWNLOAD_FAILED',
      attack: (_repo, _saved, server) => server.misbehave(() => ({ status: 404, body: 'gone' })),
      consumers: HTTP,
      expect: 'DOWNLOAD_FAILED',
    },
    {
      name: 'refuses a mirror that answers 500 for the snapshot with DOWNLOAD_FAILED',
      attack(repo, _saved, server) {
        repo.publish();
        server.misbehave((p) => (p.endsWith('.snapshot.json') ? { status: 500, body: 'oops' } : undefined));
      },
      consumers: HTTP,
      expect: 'DOWNLOAD_FAILED',
    },
    {
      name: 'refuses an HTML error page served with 200 as timestamp.json with METADATA_INVALID',
      attack: (_repo, _saved, server) => server.misbehave((p) => (p === 'timestamp.json' ? { body: '<html><body>Service Unavailable</body></html>' } : undefined)),
      consumers: HTTP,
      expect: 'METADATA_INVALID',
    },
  ],

  'wrong-length and wrong-hash targets (TUF 5.7.3)': [
    ...(
      [
        ['shorter', (b: Buffer) => b.subarray(0, b.length - 1)],
        ['longer', (b: Buffer) => Buffer.concat([b, Buffer.from(' ')])],
        ['same length, other bytes', (b: Buffer) => Buffer.from(b.toString('utf8').replace('"strict"', '"audit!"'))],
      ] as const
    ).map(
      ([what, tamper]): Scenario => ({
        name: `refuses a target file that is ${what} than signed with HASH_MISMATCH`,
        attack(repo) {
          change(repo);
          repo.publish();
          return copyWith(repo, trustFile(repo), tamper(repo.file(trustFile(repo))));
        },
        expect: what === 'longer' ? { default: 'HASH_MISMATCH', ...UPSTREAM_TOO_LARGE } : 'HASH_MISMATCH',
      }),
    ),
  ],

  'the root chain (TUF 5.3.3 - 5.3.5)': [
    {
      name: 'refuses a chain with a gap (root v2 missing, v3 and its keys served) without reaching v3',
      attack(repo) {
        repo.rotate('timestamp');
        repo.publishRoot();
        repo.rotate('timestamp');
        repo.publishRoot();
        repo.publish();
        const files = repo.capture();
        files.delete(`${repo.versions.root - 1}.root.json`);
        return files;
      },
      // The client stays on v1, whose timestamp key signed nothing here; a bundle must hold every root.
      expect: { default: 'BAD_SIGNATURE', 'bundle import': 'BUNDLE_INVALID' },
    },
    {
      name: 'refuses root v3 served as v2 with ROLLBACK',
      attack(repo) {
        repo.publishRoot();
        const v2 = repo.root();
        repo.publishRoot();
        const files = copyWith(repo, `${repo.versions.root - 1}.root.json`, repo.root());
        files.set(`${repo.versions.root}.root.json`, v2);
        return files;
      },
      expect: { default: 'ROLLBACK', 'bundle import': 'BUNDLE_INVALID' },
    },
    {
      name: "refuses a new root not signed by the old root's keys with BAD_SIGNATURE",
      attack(repo) {
        const next = repo.rotate('root');
        repo.rotate('timestamp');
        repo.publishRoot({ signers: next });
        repo.publish();
      },
      expect: 'BAD_SIGNATURE',
    },
    {
      name: 'refuses a new root not signed by its own keys with BAD_SIGNATURE',
      attack(repo) {
        const old = repo.keys.root;
        repo.rotate('root');
        repo.rotate('timestamp');
        repo.publishRoot({ signers: old });
        repo.publish();
      },
      expect: 'BAD_SIGNATURE',
    },
    {
      name: 'refuses a fork signed with a root key rotated out (a compromised old key) with BAD_SIGNATURE',
      setup(repo, saved) {
        // Root v1's key is compromised: v2 replaces it. The attacker keeps a copy of the repository as of v1.
        saved.set('fork', repo.clone());
        repo.rotate('root');
        repo.publishRoot();
        repo.publish();
      },
      attack(_repo, saved) {
        const fork: TestRepository = saved.get('fork');
        fork.keys.root = [TestKey.generate()];
        for (const r of ['timestamp', 'snapshot', 'targets'] as const) fork.rotate(r);
        fork.publishRoot(); // v2', signed by the compromised v1 key and the attacker's
        change(fork);
        fork.publish({ versions: { timestamp: 100, snapshot: 100, targets: 100 } });
        return fork.files;
      },
      expect: 'BAD_SIGNATURE',
    },
  ],
};

let server: EvilServer;

beforeAll(async () => {
  server = await EvilServer.start();
});

afterEach(() => {
  vi.useRealTimers();
});

afterAll(async () => {
  await server?.close();
  cleanupTempDirs();
});

for (const [title, list] of Object.entries(scenarios)) {
  describe(title, () => {
    for (const s of list) {
      for (const consumer of s.consumers ?? CONSUMERS) {
        const expected = typeof s.expect === 'object' && s.expect !== null ? (consumer in s.expect ? s.expect[consumer]! : s.expect.default) : s.expect;
        it(`${consumer}: ${s.name}`, async () => {
          const repo = TestRepository.create({ scope: SCOPE });
          const saved = new Map<string, any>();
          s.setup?.(repo, saved);
          const c = makeConsumer(consumer, server, repo.root(1), { key: repo.anchors(SCOPE)[0]!.id, repository: REPOSITORY });
          try {
            server.serve(repo.files);
            const honest = await c.run(repo.files);
            expect(honest, `the honest repository is accepted (${honest && lastRefusal})`).toBeNull();
            const before = await c.state();

            let misbehave: ((path: string) => Misbehaviour | undefined) | undefined;
            const files =
              s.attack(repo, saved, {
                misbehave: (f) => {
                  misbehave = f;
                },
              }) ?? repo.files;
            server.serve(files);
            server.misbehave = misbehave;
            if (s.clockAhead) {
              vi.useFakeTimers({ toFake: ['Date'] });
              vi.setSystemTime(Date.now() + s.clockAhead);
            }
            const code = await c.run(files);
            vi.useRealTimers();
            server.misbehave = undefined;
            expect(code).toBe(expected);
            if (expected !== null) expect(await c.state(), 'the last good state is kept').toEqual(before);
          } finally {
            vi.useRealTimers();
            server.misbehave = undefined;
            await c.close();
          }
        });
      }
    }
  });
}
