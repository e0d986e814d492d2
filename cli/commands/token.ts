import { closeSync, existsSync, openSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { AdminClient } from '../client.js';
import { print, writeStdout } from '../output.js';
import { adminToken, adminTokenWithSource, dataDir, serverUrl } from '../settings.js';
import { adminOptions } from './admin-options.js';
import { KeyshareError, Codes } from '../../service/errors.js';
import { CliCodes } from '../errors.js';

interface CreatedToken {
  id: string;
  token: string;
  role: string;
  scopes: string[] | null;
  expiresAt: string | null;
  ca?: string | null;
  maxValiditySeconds?: number | null;
}
interface TokenView {
  id: string;
  role: string;
  scopes: string[] | null;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  status: string;
}

const shownOnce = (t: CreatedToken) => [
  `token:   ${t.token}`,
  `id:      ${t.id}`,
  `role:    ${t.role}`,
  ...(t.scopes ? [`scopes:  ${t.scopes.join(' ')}`] : []),
  `expires: ${t.expiresAt ?? 'never'}`,
  ...(t.role === 'signer' ? [`ca:      ${t.ca ?? 'any CA within its scopes'}`, `max validity: ${t.maxValiditySeconds} s`] : []),
  'The token is shown only this once: store it now.',
];

/** Where the CLI's token came from: the admin.token file, or a flag or variable (settings.ts). */
function tokenFile(o: { token?: string; data?: string }): string | null {
  if (o.token ?? process.env.KEYSHARE_TOKEN) return null;
  const file = join(dataDir(o.data), 'admin.token');
  return existsSync(file) ? file : null;
}

function writeSecretFile(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode: 0o600 });
  renameSync(tmp, file);
}

export function tokenCommand(): Command {
  const cmd = new Command('token')
    .description('API tokens: admin (everything), editor (writes inside its scope patterns), reader (reads only)')
    .addHelpText(
      'after',
      [
        '',
        'Roles:',
        '  admin    everything, including tokens, upstreams, CRLs, root and key ceremonies',
        '  editor   reads; writes scopes, anchors, scoped revocations and apply files only inside its',
        '           --scopes patterns (a pattern is a scope and everything under it). Revocations',
        '           without --scope and apply --prune need an admin.',
        '  reader   reads only',
        '  signer   gets short-lived signing certificates from the signing authorities whose scopes',
        '           lie inside its --scopes patterns (only --ca NAME, if given), each valid for at',
        '           most --max-validity (default 1h): `keyshare ca issue` (issue 18)',
        '  client   only reports what `keyshare fetch --report` verified (issue 21); reads nothing',
        '',
        'Rotating the admin token from init:',
        '  keyshare token rotate-admin        # new secret in <data>/admin.token, the old one revoked',
      ].join('\n'),
    );
  adminOptions(
    cmd
      .command('create')
      .description('create a token; it is shown only this once')
      .addOption(new Option('--role <role>', 'what the token may do').choices(['admin', 'editor', 'reader', 'signer', 'client']).makeOptionMandatory())
      .option('--scopes <pattern...>', 'editor and signer only: the scope patterns it may write or sign for (e.g. registry.acme.io/team-a "*.acme.io")')
      .option('--expires <duration>', 'lifetime, e.g. 30d, 12h, 1y (default: never expires)')
      .option('--ca <name>', 'signer only: the one signing authority it may use (default: any within its scopes)')
      .option('--max-validity <duration>', 'signer only: the longest validity of a certificate it gets (default 1h)')
      .addHelpText(
        'after',
        '\nExamples:\n  keyshare token create --role editor --scopes registry.acme.io/team-a --expires 90d\n  keyshare token create --role reader --json\n  keyshare token create --role signer --scopes registry.acme.io/team-a --ca release --max-validity 1h --expires 30d',
      ),
  ).action(async (o) => {
    const r = await AdminClient.from(o).call<CreatedToken>('POST', '/tokens', {
      role: o.role,
      scopes: o.scopes ?? null,
      expires: o.expires ?? null,
      ...(o.ca ? { ca: o.ca } : {}),
      ...(o.maxValidity ? { maxValidity: o.maxValidity } : {}),
    });
    const out: CreatedToken = { id: r.id, token: r.token, role: r.role, scopes: r.scopes, expiresAt: r.expiresAt, ...(r.role === 'signer' ? { ca: r.ca, maxValiditySeconds: r.maxValiditySeconds } : {}) };
    print(o.json, out, () => shownOnce(out));
  });
  adminOptions(cmd.command('ls').description('list tokens (never their secrets)')).action(async (o) => {
    const r = await AdminClient.from(o).call<{ tokens: TokenView[] }>('GET', '/tokens');
    print(o.json, r, () =>
      r.tokens.map((t) =>
        [t.id, t.role, t.status, t.scopes?.join(',') ?? '-', t.expiresAt ? `expires ${t.expiresAt}` : 'no expiry', `created ${t.createdAt}`].join('\t'),
      ),
    );
  });
  adminOptions(cmd.command('revoke <id>').description('revoke a token: the next request with it is refused')).action(async (id: string, o) => {
    const r = await AdminClient.from(o).call<{ token: TokenView }>('DELETE', `/tokens/${encodeURIComponent(id)}`);
    print(o.json, r, () => `revoked token ${r.token.id} (at ${r.token.revokedAt})`);
  });
  adminOptions(
    cmd
      .command('rotate <id>')
      .description('replace a token with a new secret (same role, scopes and expiry) and revoke the old one, atomically'),
  ).action(async (id: string, o) => {
    const r = await AdminClient.from(o).call<CreatedToken & { replaced: string }>('POST', `/tokens/${encodeURIComponent(id)}/rotate`);
    print(o.json, r, () => [`replaced token ${r.replaced}`, ...shownOnce(r)]);
  });
  adminOptions(
    cmd
      .command('rotate-admin')
      .description('rotate the admin token in use: a new secret replaces the old one, which is revoked; written to <data>/admin.token when it came from there'),
  ).action(async (o) => {
    const token = adminToken(o);
    const client = new AdminClient(serverUrl(o.server), token, o.wait !== false, adminTokenWithSource(o).source);
    const file = tokenFile(o);
    // Loaded on use: it brings node:crypto, which --help does not need (bench B5).
    const { parseToken } = await import('../../service/auth/tokens.js');
    const current = parseToken(token);
    if (!current) throw new KeyshareError(Codes.UNAUTHORIZED, 'the token in use is not a keyshare token');
    if (file) closeSync(openSync(file, 'r+')); // fail before rotating if the file cannot be rewritten
    const r = await client.call<CreatedToken & { replaced: string }>('POST', `/tokens/${current.id}/rotate`);
    if (file) {
      try {
        writeSecretFile(file, r.token + '\n');
      } catch (e) {
        writeStdout(shownOnce(r).join('\n') + '\n');
        throw new KeyshareError(CliCodes.WRITE_FAILED, `the token was rotated but ${file} could not be written (${(e as Error).message}); the new token is printed above`);
      }
    }
    // Written to the file: not printed again.
    const { token: secret, ...rest } = r;
    print(o.json, file ? { ...rest, file } : { ...rest, token: secret }, () =>
      file
        ? [`rotated the admin token: ${r.replaced} is revoked; the new token ${r.id} is in ${file}`]
        : [`rotated the admin token: ${r.replaced} is revoked`, ...shownOnce(r), 'Update KEYSHARE_TOKEN or --token.'],
    );
  });
  return cmd;
}
