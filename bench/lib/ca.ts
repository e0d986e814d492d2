/**
 * B11 (issue 18; B9 is issue 17's parent change): keyshare's signing authority (issue 18) on one service over loopback: the time of one
 * certificate issuance (`POST /api/v1/ca/{name}/certificates` with a fresh CSR), of one RFC
 * 3161 answer (`POST /tsa`), and from a `revoke cert` of an issued certificate to the first
 * GET of /crl/{issuer-hex}.crl that lists it. Counts and times, no baseline.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyAndCsr } from '../../service/crypto/ca.js';
import { buildState, keyPool } from './fixture.js';
import { post, waitFor } from './http.js';
import { startService } from './proc.js';
import type { Row } from './report.js';
import { fmtMs, quantile, sig } from './stats.js';

export async function benchCa(work: string, rounds: number, builtCli: boolean, log: (s: string) => void): Promise<Row[]> {
  const state = await buildState(join(work, 'ca'), 1, keyPool(2));
  const svc = await startService({ data: state.dataDir }, builtCli);
  const url = svc.ready.url as string;
  const scope = 'bench.example/ca';
  try {
    const must = async (path: string, token: string, body: unknown, what: string) => {
      const r = await post(url, path, token, body);
      if (r.status >= 300) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.json)}`);
      return r.json as Record<string, any>;
    };
    await must('/api/v1/scopes', state.token, { scope }, 'scope add');
    await must('/api/v1/ca', state.token, { name: 'bench', scopes: [scope] }, 'ca create');
    // Issuance is limited to 60 a minute per token: one signer token per 50 certificates.
    const signers: string[] = [];
    for (let i = 0; i < Math.ceil((rounds + 5) / 50); i++) signers.push((await must('/api/v1/tokens', state.token, { role: 'signer', scopes: [scope] }, 'token create')).token as string);
    const csrs = await Promise.all(Array.from({ length: rounds + 5 }, () => generateKeyAndCsr()));
    const issue = async (i: number) => must('/api/v1/ca/bench/certificates', signers[Math.floor(i / 50)]!, { csr: csrs[i]!.csrPem }, 'ca issue');
    for (let i = 0; i < 5; i++) await issue(rounds + i); // warm-up: key open, JIT
    const issueMs: number[] = [];
    const issued: Record<string, any>[] = [];
    for (let i = 0; i < rounds; i++) {
      const t0 = performance.now();
      issued.push(await issue(i));
      issueMs.push(performance.now() - t0);
    }
    const query = join(work, 'q.tsq');
    spawnSync('openssl', ['ts', '-query', '-digest', 'a'.repeat(64), '-sha256', '-cert', '-out', query]);
    const body = readFileSync(query);
    const tsaMs: number[] = [];
    for (let i = 0; i < rounds + 5; i++) {
      const t0 = performance.now();
      const r = await fetch(`${url}/tsa`, { method: 'POST', headers: { 'content-type': 'application/timestamp-query' }, body });
      if (r.status !== 200) throw new Error(`POST /tsa: ${r.status}`);
      await r.arrayBuffer();
      if (i >= 5) tsaMs.push(performance.now() - t0);
    }
    const crlMs: number[] = [];
    for (const cert of issued.slice(0, Math.min(10, rounds))) {
      const serial = Buffer.from(cert.serial as string, 'hex');
      const t0 = performance.now();
      await must('/api/v1/revocations', state.token, { kind: 'certificate', issuer: cert.issuer, serial: cert.serial }, 'revoke');
      await waitFor('the re-signed CRL', async () => {
        const r = await fetch(`${url}/crl/${(cert.issuer as string).slice(7)}.crl`);
        return r.ok && Buffer.from(await r.arrayBuffer()).includes(serial);
      }, 10_000, 5);
      crlMs.push(performance.now() - t0);
    }
    log(`  B11 issue p50 ${fmtMs(quantile(issueMs, 0.5))}, tsa p50 ${fmtMs(quantile(tsaMs, 0.5))}, revoke→CRL p50 ${fmtMs(quantile(crlMs, 0.5))}`);
    const row = (figure: string, samples: number[], goalMs: number, goal: string): Row => ({
      id: 'B11',
      figure,
      value: `p50 ${fmtMs(quantile(samples, 0.5))}, p99 ${fmtMs(quantile(samples, 0.99))}`,
      baseline: 'none (a time, over loopback HTTP)',
      ratio: '-',
      goal,
      status: quantile(samples, 0.5) <= goalMs ? 'met' : 'missed',
      data: { samplesMs: samples.map((x) => sig(x, 4)) },
    });
    return [
      row(`certificate issuance, ${rounds} CSRs (ECDSA P-256 CA)`, issueMs, 20, 'p50 ≤ 20 ms'),
      row(`RFC 3161 answer, ${rounds} queries`, tsaMs, 10, 'p50 ≤ 10 ms'),
      row(`revoke cert → re-signed CRL served at /crl/, ${crlMs.length} revocations`, crlMs, 1000, 'p50 ≤ 1 s'),
    ];
  } finally {
    await svc.stop();
  }
}
