import { Command } from 'commander';
import { canonicalize } from '@tufjs/canonical-json';
import { AdminClient } from '../client.js';
import { print } from '../output.js';
import { readInputFile } from '../files.js';
import { adminOptions } from './admin-options.js';
import { KeyshareError } from '../../service/errors.js';
import type { TenantView } from '../../service/tenant-service.js';
import type { PublishResult } from '../../service/repo/publisher.js';
import type { PendingView } from '../../service/repo/tenant-pending.js';
import { CliCodes } from '../errors.js';

const signers = () => import('../signers.js');
type Pending = PendingView & { keyid: string };

const collect = (v: string, acc: string[]) => [...acc, v];

const lines = (t: TenantView): string[] => [
  `tenant: ${t.name}`,
  `role: ${t.role} (${t.published ? 'published' : 'not published yet'}), ${t.bins} bins ${t.binPrefix}-*`,
  `key: ${t.keyid} (${t.offline ? 'held by the tenant' : 'held by the service'})`,
  ...(t.awaitingSignature ? [`waiting for the tenant's signature: keyshare tenant sign ${t.name} --key FILE`] : []),
  `owns: ${t.patterns.join(', ')}`,
  `scopes:${t.scopes.length ? '' : ' none yet'}`,
  ...t.scopes.map((s) => `  ${s}`),
];

export function tenantCommand(): Command {
  const cmd = new Command('tenant')
    .description('tenants: scopes whose trust is signed by a delegated TUF role of their own')
    .addHelpText(
      'after',
      [
        '',
        'A tenant owns scope patterns (each a scope and everything under it). Its trust documents are',
        'signed by the TUF role tenant-<name> and its hashed bins, delegated from targets for those',
        'paths only: a compromised tenant key cannot sign trust for another tenant\'s scopes.',
        '',
        'The role key is held by the service, or by the tenant (--offline). An offline tenant signs its',
        'role with `keyshare tenant sign`: until it does, clients keep its last signed trust.',
      ].join('\n'),
    );
  adminOptions(
    cmd
      .command('add <name>')
      .description('create a tenant owning --scopes, with a role key held by the service or, with --offline, by the tenant')
      .requiredOption('--scopes <pattern>', 'a scope the tenant owns, with everything under it (repeatable)', collect, [])
      .option('--offline', 'the tenant holds its role key: give --public-key, or --generate-key')
      .option('--public-key <file>', 'with --offline: the PEM public key (Ed25519 or ECDSA P-256) of the tenant\'s role key')
      .option('--generate-key <out>', 'with --offline: generate an Ed25519 role key here, write it to OUT (PKCS#8 PEM, mode 0600) and register only its public key')
      .option('--editor-token', 'also create an editor token restricted to the tenant\'s scopes (shown once)')
      .addHelpText(
        'after',
        [
          '',
          'Examples:',
          '  keyshare tenant add team-a --scopes registry.acme.io/team-a',
          '  keyshare tenant add acme --scopes registry.acme.io --scopes ghcr.io/acme --editor-token --json',
          '  keyshare tenant add team-b --scopes registry.acme.io/team-b --offline --public-key team-b.pub.pem',
          '  keyshare tenant add team-c --scopes registry.acme.io/team-c --offline --generate-key team-c.pem',
          '',
          'The service generates the tenant\'s key in <data>/keys/tenant-<name>.pem and moves the trust',
          'documents of existing scopes under the patterns into the tenant\'s role. A pattern is a registry',
          'or a namespace (not * or *.domain), and belongs to one tenant only.',
          '',
          'With --offline the service never sees the private key: it registers the public key only, and',
          'publishes the tenant\'s delegation when the tenant signs its first roles',
          '(keyshare tenant sign NAME --key FILE). --generate-key writes the new private key here, on this',
          'machine: move it to the tenant, or keep it offline.',
        ].join('\n'),
      ),
  ).action(async (name: string, o) => {
    if ((o.publicKey || o.generateKey) && !o.offline) throw new KeyshareError(CliCodes.USAGE, '--public-key and --generate-key go with --offline');
    if (o.offline && !!o.publicKey === !!o.generateKey) throw new KeyshareError(CliCodes.USAGE, '--offline needs one of --public-key FILE or --generate-key OUT');
    const client = AdminClient.from(o);
    let publicKey: string | undefined;
    // Loaded on use: key handling brings node:crypto, which --help does not need (bench B5).
    const { generateSigningKeyPem, publicKeyPem } = await import('../../service/crypto/signer.js');
    const { writeNewKey } = await import('../../service/repo/keys.js');
    if (o.publicKey) publicKey = publicKeyPem(readInputFile(o.publicKey).toString('utf8'));
    if (o.generateKey) {
      const pem = generateSigningKeyPem();
      try {
        writeNewKey(o.generateKey, pem);
      } catch (e) {
        throw new KeyshareError(CliCodes.FILE_NOT_WRITABLE, `cannot write ${o.generateKey}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message} (an existing file is never overwritten)`);
      }
      publicKey = publicKeyPem(pem);
    }
    const r = await client.call<{ tenant: TenantView; published: { timestampVersion: number } | null; token?: { id: string; token: string } }>('POST', '/tenants', {
      name,
      scopes: o.scopes,
      ...(o.offline ? { offline: true, publicKey } : {}),
      ...(o.editorToken ? { token: true } : {}),
    });
    print(o.json, o.generateKey ? { ...r, privateKeyFile: o.generateKey } : r, () => [
      `created tenant ${name}${r.published ? ` (published, timestamp version ${r.published.timestampVersion})` : ''}`,
      ...lines(r.tenant),
      ...(o.generateKey ? [`wrote the tenant's private key to ${o.generateKey} (0600): the service has only its public key`] : []),
      ...(o.offline ? [`its delegation is published once the tenant signs: keyshare tenant sign ${name} --key ${o.generateKey ?? 'FILE'}`] : []),
      ...(r.token ? ['', `editor token ${r.token.id} (shown only this once):`, r.token.token] : []),
    ]);
  });
  const sign = cmd
    .command('sign <name>')
    .description('sign an offline tenant\'s pending roles with its key, here, and publish them')
    .requiredOption('--key <file>', 'the tenant\'s private key: a PKCS#8 PEM file or a PKCS#11 URI')
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  keyshare tenant sign team-b --key team-b.pem',
        '  keyshare tenant sign team-b --key "pkcs11:token=team-b;object=tenant" --json',
        '',
        'Fetches the roles waiting for the tenant\'s signature (its first roles, or new versions after a',
        'change of trust in its scopes), signs their canonical JSON (TUF spec 4.2) here, and uploads the',
        'signatures. The private key never leaves this machine. The service checks every signature with',
        'the key registered for the tenant (UNKNOWN_KEY, BAD_SIGNATURE), and publishes only a complete set.',
        'When trust changed again in between, the set was rebuilt: STALE_SIGNING_REQUEST; run it again.',
      ].join('\n'),
    );
  adminOptions(sign).action(async (name: string, o) => {
    const client = AdminClient.from(o);
    const { pending } = await client.call<{ pending: Pending | null }>('GET', `/tenants/${encodeURIComponent(name)}/pending`);
    if (!pending) {
      print(o.json, { tenant: name, signed: [], published: null }, () => `tenant ${name} has nothing to sign`);
      return;
    }
    const signer = await (await signers()).openKeySigner(o.key);
    try {
      if (signer.keyid !== pending.keyid) throw new KeyshareError(CliCodes.UNKNOWN_KEY, `${o.key} is key ${signer.keyid}, not the key of tenant ${name} (${pending.keyid})`);
      const signatures = [];
      // Sign the canonical JSON of what we were shown (TUF spec 4.2), not bytes we did not parse.
      for (const r of pending.roles) signatures.push({ role: r.role, keyid: signer.keyid, sig: Buffer.from(await signer.sign(Buffer.from(canonicalize(r.signed as never)))).toString('hex') });
      const r = await client.call<{ tenant: TenantView; published: PublishResult; signed: { role: string; version: number }[] }>(
        'POST',
        `/tenants/${encodeURIComponent(name)}/signatures`,
        { id: pending.id, signatures },
      );
      print(o.json, r, () => [
        `signed ${r.signed.length} role${r.signed.length === 1 ? '' : 's'} of tenant ${name} with key ${signer.keyid}: ${r.signed.map((x) => `${x.role} v${x.version}`).join(', ')}`,
        ...pending.documents.map((d) => `  ${d.deleted ? 'removed' : 'trust for'} ${d.scope} (v${d.version})`),
        `published as timestamp version ${r.published.timestampVersion}`,
      ]);
    } finally {
      await signer.close?.();
    }
  });
  adminOptions(cmd.command('rm <name>').description('remove a tenant: its scopes go back under "trust", signed by the service, in one publish')).action(async (name: string, o) => {
    const r = await AdminClient.from(o).call<{ removed: string; published: { timestampVersion: number } | null }>('DELETE', `/tenants/${encodeURIComponent(name)}`);
    print(o.json, r, () => `removed tenant ${name}${r.published ? ` (published as timestamp version ${r.published.timestampVersion})` : ''}`);
  });
  adminOptions(cmd.command('ls').description('list tenants')).action(async (o) => {
    const r = await AdminClient.from(o).call<{ tenants: TenantView[] }>('GET', '/tenants');
    print(o.json, r, () => (r.tenants.length ? r.tenants.map((t) => `${t.name}\t${t.patterns.join(',')}\t${t.offline ? 'offline' : 'service-held'}\t${t.scopes.length} scopes${t.awaitingSignature ? '\twaiting for its signature' : ''}`) : ['no tenants']));
  });
  adminOptions(cmd.command('show <name>').description('show a tenant, its role and the scopes it owns')).action(async (name: string, o) => {
    const r = await AdminClient.from(o).call<{ tenant: TenantView }>('GET', `/tenants/${encodeURIComponent(name)}`);
    print(o.json, r, () => lines(r.tenant));
  });
  return cmd;
}
