/**
 * Issue 16, finding 1: untrusted certificates are parsed in a worker pool with a time limit
 * (service/crypto/worker-pool.ts, untrusted.ts). Over the limit the worker is terminated and
 * replaced; a worker that crashes fails only its own task; the pool keeps working after both.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { readFixture, readFixtureText } from '../../../fixtures/index.js';
import { parseCertificate } from '../../../service/crypto/x509.js';
import { PARSE_TIME_LIMIT_MS, parseUntrustedCertificate, parseUntrustedChain } from '../../../service/crypto/untrusted.js';
import { WorkerPool } from '../../../service/crypto/worker-pool.js';
import { KeyshareError } from '../../../service/errors.js';
import { certificatePem, craftCertificate, craftCertificateForKey, rsaSpki, slowCertificate, HEAVIEST_ADMISSIBLE_ITEMS } from '../../support/x509-craft.js';

describe('parsing untrusted certificates in the worker pool', () => {
  it('gives what the synchronous parser gives, for PEM and DER', async () => {
    for (const input of [readFixtureText('certs/root-ca.pem'), new Uint8Array(readFixture('certs/root-ca.der'))]) {
      expect(await parseUntrustedCertificate(input)).toEqual(parseCertificate(input));
    }
    const chain = await parseUntrustedChain(readFixtureText('certs/chain.pem'));
    expect(chain.map((c) => c.id).length).toBeGreaterThan(1);
    expect(chain[0]!.notAfter).toBeInstanceOf(Date);
  });

  it("keeps the parser's refusal codes", async () => {
    await expect(parseUntrustedCertificate(readFixtureText('certs/garbage.pem'))).rejects.toMatchObject({ code: 'BAD_CERTIFICATE' });
    const leaf = certificatePem(await craftCertificate([]));
    const member = certificatePem(await craftCertificateForKey(rsaSpki(16_384)));
    await expect(parseUntrustedChain(leaf + member)).rejects.toMatchObject({ code: 'UNSUPPORTED_KEY' });
  });

  it('refuses a slow certificate PARSE_TIMEOUT at its limit, and the next parse gets a new worker', async () => {
    // The heaviest certificate within the caps of x509-screen.ts: 10-40 ms of parsing, far over
    // this limit whatever the machine's load.
    const slow = await slowCertificate(false, HEAVIEST_ADMISSIBLE_ITEMS);
    await expect(parseUntrustedCertificate(slow, 1)).rejects.toMatchObject({ code: 'PARSE_TIMEOUT', message: expect.stringContaining('took more than 1 ms') });
    expect((await parseUntrustedCertificate(readFixtureText('certs/root-ca.pem'))).isCA).toBe(true);
    expect(PARSE_TIME_LIMIT_MS).toBeLessThanOrEqual(1000);
  });
});

describe('a worker pool', () => {
  const pool = new WorkerPool({ module: new URL('../../support/crash-worker.ts', import.meta.url), size: 2, heapMb: 32 });
  const run = (kind: string, value?: unknown) => pool.run<unknown>({ kind, value }, 5_000, () => new KeyshareError('PARSE_TIMEOUT', 'over'), 'FALLBACK');
  afterAll(() => pool.close());

  it('contains a worker that exits, throws outside a handler or runs out of heap: only its task fails', async () => {
    expect(await run('echo', 1)).toBe(1);
    for (const kind of ['exit', 'throw', 'oom']) {
      const [dead, alive] = await Promise.allSettled([run(kind), run('echo', kind)]);
      expect(dead).toMatchObject({ status: 'rejected', reason: { code: 'INTERNAL', message: expect.stringContaining('stopped') } });
      expect(alive).toEqual({ status: 'fulfilled', value: kind });
      expect(await run('echo', 2)).toBe(2);
    }
  });

  it("passes a worker's refusal on with its code, and ends a task that never finishes at its limit", async () => {
    await expect(run('refuse')).rejects.toMatchObject({ code: 'SOME_CODE', message: 'refused' });
    const spin = pool.run({ kind: 'spin' }, 50, () => new KeyshareError('PARSE_TIMEOUT', 'over'), 'FALLBACK');
    await expect(spin).rejects.toMatchObject({ code: 'PARSE_TIMEOUT' });
    expect(await run('echo', 3)).toBe(3);
  });

  it('queues tasks beyond its size and runs them all', async () => {
    expect(await Promise.all(Array.from({ length: 7 }, (_, i) => run('echo', i)))).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });
});
