/**
 * `fetch --report` (issue 21): after a successful, verified fetch, tell the service which
 * timestamp version this client now holds, with a `client` token. The client ID is `--client-id`
 * or a random ID kept in the cache dir, so that one machine stays one client across runs.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KeyshareError } from '../../shared/errors.js';
import { writePrivateFileAtomic } from '../../shared/private-files.js';
import { httpRequest } from './http.js';
import { CLIENT_ID, type ClientReport } from '../../service/domain/clients.js';
import { FetchCodes } from './errors.js';

/** A report as the service takes it (service/domain/clients.ts); a plain client sends no summary. */
export type ClientReportInput = Omit<ClientReport, 'summary'>;

const CLIENT_ID_FILE = 'client-id';
/** What `keyshare --version` says (cli/main.ts). */
export const KEYSHARE_VERSION = '0.1.0';

/** The client ID kept in `cacheDir` (made on first use). */
export function cachedClientId(cacheDir: string): string {
  const file = join(cacheDir, CLIENT_ID_FILE);
  if (existsSync(file)) {
    const id = readFileSync(file, 'utf8').trim();
    if (CLIENT_ID.test(id)) return id;
  }
  const id = `ks-${randomBytes(12).toString('hex')}`;
  writePrivateFileAtomic(file, `${id}\n`);
  return id;
}

/** Posts the report; REPORT_FAILED (with the service's code) when it is not taken. */
export async function sendReport(server: string, token: string, report: ClientReportInput): Promise<void> {
  let status: number;
  let body: string;
  try {
    const res = await httpRequest(`${server.replace(/\/+$/, '')}/api/v1/clients/reports`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(report),
      timeoutMs: 15_000,
    });
    status = res.status;
    body = res.body.toString('utf8');
  } catch (e) {
    throw new KeyshareError(FetchCodes.REPORT_FAILED, `cannot report to ${server}: ${(e as Error).message}`, { cause: e });
  }
  if (status !== 201) {
    let why = `HTTP ${status}`;
    try {
      const err = JSON.parse(body) as { code?: string; message?: string };
      if (err.code) why = `${err.code}: ${err.message ?? ''}`;
    } catch {
      // not JSON
    }
    throw new KeyshareError(FetchCodes.REPORT_FAILED, `${server} refused the report (${why})`);
  }
}
