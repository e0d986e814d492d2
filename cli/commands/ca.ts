import { existsSync, writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { AdminClient } from '../client.js';
import { readInputFile } from '../files.js';
import { print, writeStdout } from '../output.js';
import { adminOptions } from './admin-options.js';
import { KeyshareError } from '../../service/errors.js';
import type { CaView as CaViewBase } from '../../service/ca/service.js';
import type { IssuedCertificate as Issued } from '../../service/ca/issue.js';
import { CliCodes } from '../errors.js';

type CaView = CaViewBase & { rootKeyPath?: string | null };

/** `--key FILE|pkcs11:URI` as the API takes it (a key file's PEM goes to the service, which keeps it 0600). */
const keyRef = (key: string | undefined) => (key === undefined ? null : key.startsWith('pkcs11:') ? { uri: key } : { pem: readInputFile(key).toString('utf8') });

function describe(ca: CaView): string[] {
  return [
    `${ca.name}: ${ca.subject}, valid until ${ca.notAfter}, key ${ca.key}`,
    `  anchor ${ca.id} (type ca) in ${ca.scopes.join(' ')}`,
    ...(ca.root ? [`  root   ${ca.root.id}: ${ca.root.subject}`] : []),
    `  trusted identity: ${ca.trustedIdentity}`,
    ...(ca.crl ? [`  CRL number ${ca.crl.crlNumber}, next update ${ca.crl.nextUpdate}, published as ${ca.crl.target} and at /${ca.crl.target}`] : []),
    ...(ca.tsa ? [`  TSA root ${ca.tsa.id} (type tsa): POST /tsa`] : []),
  ];
}

/** Writes a private key the CLI made: 0600, never over an existing file. */
function writeNewSecret(path: string, pem: string): void {
  if (existsSync(path)) throw new KeyshareError(CliCodes.OUT_INVALID, `${path} exists: give a new file for the key`);
  writeFileSync(path, pem, { mode: 0o600, flag: 'wx' });
}

export function caCommand(): Command {
  const cmd = new Command('ca').description('keyshare as a code-signing CA: signing authorities, short-lived CI certificates, their CRLs, and an RFC 3161 TSA at /tsa');
  adminOptions(
    cmd
      .command('create <name>')
      .description('make a signing authority: an intermediate CA under a root keyshare also makes, a `ca` anchor in --scopes')
      .requiredOption('--scopes <pattern...>', 'the scopes that trust it (they must exist)')
      .option('--key <file|uri>', 'the CA key: a PEM private key file, or a pkcs11: URI (default: keyshare generates ECDSA P-256)')
      .option('--validity <duration>', 'CA certificate validity (default 5y; the root lives twice as long)')
      .option('--subject <dn>', 'C, ST and O of every certificate it issues (default "C=ZZ, ST=keyshare, O=NAME")')
      .addHelpText(
        'after',
        `
The root's key is written to <data>/keys/ca-NAME-root.pem on the service: move it offline, it
is needed only to make a new intermediate. The CA key stays in <data>/keys/ca-NAME.pem (or the
HSM). Both certificates become \`ca\` anchors in --scopes, with the trusted identity
"x509.subject: C=.., ST=.., O=.." for what the CA issues, and keyshare's TSA root a \`tsa\`
anchor. The CA's CRL is published at once as crl/{issuer-hex}.crl.

Examples:
  keyshare ca create release --scopes registry.acme.io/team-a --subject "C=US, ST=WA, O=Acme"
  keyshare ca create hsm --scopes "*" --key "pkcs11:token=keyshare;object=ca?module-path=/usr/lib/softhsm/libsofthsm2.so"`,
      ),
  ).action(async (name: string, o) => {
    const r = await AdminClient.from(o).call<CaView>('POST', '/ca', { name, scopes: o.scopes, key: keyRef(o.key), validity: o.validity ?? null, subject: o.subject ?? null });
    print(o.json, r, () => [...describe(r), ...(r.rootKeyPath ? [`The root key is ${r.rootKeyPath} on the service: move it offline.`] : [])]);
  });
  adminOptions(
    cmd
      .command('import <name>')
      .description('take an existing CA certificate (optionally followed by its chain) and its key as a signing authority')
      .requiredOption('--cert <file>', 'the CA certificate, PEM, optionally followed by its chain up to the root')
      .requiredOption('--key <file|uri>', 'its private key: a PEM file, or a pkcs11: URI')
      .requiredOption('--scopes <pattern...>', 'the scopes that trust it')
      .option('--subject <dn>', 'C, ST and O of every certificate it issues (default "C=ZZ, ST=keyshare, O=NAME")')
      .addHelpText('after', '\nExample:\n  keyshare ca import legacy --cert legacy-ca.pem --key legacy-ca.key --scopes registry.acme.io'),
  ).action(async (name: string, o) => {
    const r = await AdminClient.from(o).call<CaView>('POST', '/ca', { name, scopes: o.scopes, key: keyRef(o.key), certificate: readInputFile(o.cert).toString('utf8'), subject: o.subject ?? null });
    print(o.json, r, () => describe(r));
  });
  adminOptions(cmd.command('ls').description('list the signing authorities')).action(async (o) => {
    const r = await AdminClient.from(o).call<{ cas: CaView[] }>('GET', '/ca');
    print(o.json, r, () => (r.cas.length === 0 ? 'no signing authorities' : r.cas.flatMap(describe)));
  });
  adminOptions(cmd.command('show <name>').description('show a signing authority').addHelpText('after', '\nExamples:\n  keyshare ca show release --json\n')).action(async (name: string, o) => {
    const r = await AdminClient.from(o).call<CaView>('GET', `/ca/${encodeURIComponent(name)}`);
    print(o.json, r, () => describe(r));
  });
  adminOptions(
    cmd
      .command('issue <name>')
      .description('get a short-lived code-signing certificate (with a signer token): the chain goes to --out or stdout')
      .option('--csr <file>', 'a PKCS#10 CSR (PEM)')
      .option('--generate-key <out>', 'make an ECDSA P-256 key here (0600) and a CSR for it')
      .option('--validity <duration>', "at most the token's --max-validity (default 10m)")
      .option('--identity <subject>', 'CN and OU of the certificate, e.g. "CN=ci:release, OU=team-a"')
      .option('--out <file>', 'write the certificate chain (leaf, CA, root) here instead of stdout')
      .addHelpText(
        'after',
        `
The certificate has digitalSignature, EKU codeSigning, is not a CA, and carries a CRL
distribution point at this service's /crl/{issuer-hex}.crl. Its subject is the identity, the
token (serialNumber=token:ID) and the CA's C, ST and O.

Examples:
  KEYSHARE_TOKEN=ks_... keyshare ca issue release --generate-key ci.key --out ci.crt --identity "CN=ci:release, OU=team-a"
  KEYSHARE_TOKEN=ks_... keyshare ca issue release --csr ci.csr --validity 5m`,
      ),
  ).action(async (name: string, o) => {
    if (!o.csr === !o.generateKey) throw new KeyshareError(CliCodes.USAGE, 'give one of --csr FILE or --generate-key OUT');
    let csr: string;
    let keyPem: string | null = null;
    if (o.csr) csr = readInputFile(o.csr).toString('utf8');
    else {
      if (existsSync(o.generateKey)) throw new KeyshareError(CliCodes.OUT_INVALID, `${o.generateKey} exists: give a new file for the key`);
      const { generateKeyAndCsr } = await import('../../service/crypto/ca.js');
      ({ keyPem, csrPem: csr } = await generateKeyAndCsr());
    }
    const r = await AdminClient.from(o).call<Issued>('POST', `/ca/${encodeURIComponent(name)}/certificates`, { csr, validity: o.validity ?? null, identity: o.identity ?? null });
    if (keyPem) writeNewSecret(o.generateKey, keyPem);
    if (o.out) writeFileSync(o.out, r.chain);
    if (o.json) print(true, r, () => '');
    else if (o.out) writeStdout(`issued ${r.serial} to "${r.subject}" until ${r.notAfter}: ${o.out}${keyPem ? `, key ${o.generateKey}` : ''}\n`);
    else writeStdout(r.chain);
  });
  return cmd;
}
