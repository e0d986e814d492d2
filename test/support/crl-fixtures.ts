/**
 * Test support: the fixture CAs and CRLs that the CRL end-to-end tests share
 * (test/e2e/upstream-crl.test.ts, bundle-crl.test.ts), and openssl as the outside verifier.
 */
import { toolPath } from './system-tools.js';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fixturePath, readFixture, readFixtureText } from '../../fixtures/index.js';
import { expectedCertId } from '../service/crypto/helpers.js';

export const HAVE_OPENSSL = toolPath('openssl') !== null;
export const ROOT_CA = readFixtureText('certs/root-ca.pem');
/** The CA that signs fixtures/crls/* and test/support/crl-mint.ts CRLs. */
export const INT_CA = readFixtureText('certs/intermediate-ca.pem');
export const INT_ID = expectedCertId(INT_CA);
/** The TUF target of the intermediate CA's CRL. */
export const CRL_TARGET = `crl/${INT_ID.slice('sha256:'.length)}.crl`;
/** fixtures/crls/intermediate-ca.crl: CRL number 2, revokes leaf-revoked.pem (serial 0dead0). */
export const CRL_2 = readFixture('crls/intermediate-ca.crl');
/** The serials of leaf-revoked.pem and leaf.pem. */
export const REVOKED_SERIAL = '0dead0';
export const LEAF_SERIAL = '8badf00d';

export function openssl(args: string[]): { code: number; out: string } {
  const r = spawnSync('openssl', args, { encoding: 'utf8' });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

/** `openssl verify -crl_check` of a fixture leaf with the `{scope}.pem` and `{scope}.crl.pem` that `fetch --format pem` wrote into `dir`. */
export const verifyWithCrl = (dir: string, scope: string, leaf: string) =>
  openssl(['verify', '-crl_check', '-CAfile', join(dir, `${scope}.pem`), '-CRLfile', join(dir, `${scope}.crl.pem`), fixturePath('certs', leaf)]);
