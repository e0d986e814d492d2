import { writeFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { AdminClient } from '../client.js';
import { readInputFile } from '../files.js';
import { print } from '../output.js';
import { adminOptions } from './admin-options.js';
import { KeyshareError } from '../../service/errors.js';
import type { ProposalView, RootPublishResult } from '../../service/root-ceremony.js';
import { CliCodes } from '../errors.js';

// Loaded on use: TUF models, crypto and the PKCS#11 addon cost start-up that other commands do not need.
const ceremonyCore = () => import('../../service/repo/ceremony.js');
const signers = () => import('../signers.js');

const collect = (v: string, acc: string[]) => [...acc, v];
const short = (id: string) => id.slice(0, 12);

/** Human lines for a staged root. */
export function proposalLines(p: ProposalView): string[] {
  const r = (x: ProposalView['status']['trusted'], label: string) =>
    `  root v${x.version} (${label}): needs ${x.threshold}, has ${x.signedBy.length}${x.signedBy.length ? ` (${x.signedBy.map(short).join(', ')})` : ''}${x.missing === 0 ? ': met' : ''}`;
  return [
    `staged root v${p.version}${p.reason ? ` (${p.reason})` : ''}, created ${p.createdAt}`,
    ...p.changes.map((c) => `  ${c}`),
    'signatures:',
    r(p.status.trusted, 'current'),
    r(p.status.proposed, 'proposed'),
    p.status.met ? 'both thresholds are met: run `keyshare root publish`' : `missing: ${p.missing}`,
  ];
}

export const OFFLINE_STEPS = [
  'To sign on a machine without the service:',
  '  keyshare root status --out staged.json                                  # here: export the staged root',
  '  keyshare root sign --key root-1.pem --in staged.json --out signed.json  # offline machine, once per key',
  '  keyshare root sign --in signed.json                                     # here: import the signatures',
  '  keyshare root publish',
];

function writeStaged(path: string, metadata: unknown): void {
  writeFileSync(path, JSON.stringify(metadata, null, 2) + '\n');
}

const readJsonFile = (path: string): unknown => {
  try {
    return JSON.parse(readInputFile(path).toString('utf8'));
  } catch (e) {
    if (e instanceof KeyshareError) throw e;
    throw new KeyshareError(CliCodes.BAD_METADATA, `${path} is not JSON`);
  }
};

export function rootCommand(): Command {
  const cmd = new Command('root')
    .description('the root ceremony: stage root N+1, sign it with root keys (online or offline), publish it')
    .addHelpText(
      'after',
      [
        '',
        'Root N+1 is published only when it carries signatures by a threshold of the root keys of the',
        'current root N *and* a threshold of its own root keys (TUF spec 5.3.4), by distinct keys.',
        'Every root version stays served at /tuf/{N}.root.json, so clients pinned to an old root catch up.',
        '',
        'Example (2 of 3 root keys, replacing root-3):',
        '  keyshare root propose --add-key new-root.pub.pem --remove-key <keyid of root-3>',
        '  keyshare root sign --key root-1.pem',
        '  keyshare root sign --key root-2.pem',
        '  keyshare root publish',
        '',
        ...OFFLINE_STEPS,
      ].join('\n'),
    );

  adminOptions(
    cmd
      .command('propose')
      .description('stage root N+1: add or remove root keys, change the root threshold or expiry')
      .option('--add-key <file|pkcs11-uri>', 'add a root key: a PEM public key (a private key file is read for its public key only), or a key in a PKCS#11 token; repeatable', collect, [])
      .option('--remove-key <keyid>', 'remove a root key by its TUF key ID (hex); repeatable', collect, [])
      .option('--threshold <m>', 'root signatures needed from root N+1 on', (v) => Number(v))
      .option('--expires <d>', 'root N+1 expiry: a duration (365d, 52w, 1y) or an ISO 8601 time (default: the configured root lifetime)')
      .option('--out <file>', 'also write the staged root to FILE, to sign offline'),
  ).action(async (o) => {
    if (o.threshold !== undefined && !Number.isInteger(o.threshold)) throw new KeyshareError(CliCodes.USAGE, '--threshold must be an integer');
    const { publicKeyPemOf } = await signers();
    const addKeys: string[] = [];
    for (const f of o.addKey as string[]) addKeys.push(await publicKeyPemOf(f));
    const body = { addKeys, removeKeys: o.removeKey, threshold: o.threshold, expires: o.expires };
    const p = await AdminClient.from(o).call<ProposalView>('POST', '/root/proposal', body);
    if (o.out) writeStaged(o.out, p.metadata);
    print(o.json, p, () => [...proposalLines(p), ...(o.out ? [`wrote the staged root to ${o.out}`] : [])]);
  });

  adminOptions(
    cmd
      .command('status')
      .description('show the staged root: its changes, the signatures it has, and what is missing')
      .option('--out <file>', 'write the staged root (TUF root metadata with its signatures so far) to FILE, to sign offline'),
  ).action(async (o) => {
    const p = await AdminClient.from(o).call<ProposalView>('GET', '/root/proposal');
    if (o.out) writeStaged(o.out, p.metadata);
    print(o.json, p, () => [...proposalLines(p), ...(o.out ? [`wrote the staged root to ${o.out}`] : [])]);
  });

  const sign = cmd
    .command('sign')
    .description('add one root signature to the staged root, online or offline')
    .addOption(new Option('--key <file|pkcs11-uri>', 'the root private key: a PKCS#8 PEM file, or a pkcs11: URI (RFC 7512)'))
    .option('--in <file>', 'a staged root exported with `root status --out` (with --key: sign it offline; alone: import its signatures)')
    .option('--out <file>', 'with --key and --in: write the signed root here (no service is contacted)')
    .addHelpText(
      'after',
      [
        '',
        'Three ways to use it:',
        '  keyshare root sign --key root-1.pem                                   # online: fetch the staged root, sign here, upload the signature',
        '  keyshare root sign --key root-1.pem --in staged.json --out signed.json # offline: no service; the private key never leaves this machine',
        '  keyshare root sign --in signed.json                                   # import the signatures of a file signed offline',
        '',
        'The service accepts only signatures by root keys of root N or root N+1 (UNKNOWN_KEY otherwise)',
        'that verify over the staged root (BAD_SIGNATURE otherwise).',
        'A PKCS#11 key is named by an RFC 7512 URI, e.g.',
        '  pkcs11:token=keyshare;object=root-1?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-value=1234',
        '(or set the PIN in KEYSHARE_PKCS11_PIN).',
      ].join('\n'),
    );
  adminOptions(sign).action(async (o) => {
    if (!o.key && !o.in) throw new KeyshareError(CliCodes.USAGE, 'give --key, or --in FILE to import signatures (see --help)');
    if (o.out && !(o.key && o.in)) throw new KeyshareError(CliCodes.USAGE, '--out needs --key and --in (offline signing)');
    if (o.key && o.in && !o.out) throw new KeyshareError(CliCodes.USAGE, 'offline signing (--key with --in) needs --out FILE');

    if (o.key && o.in) {
      // Offline: no service, no token. The service checks the signature when it is imported.
      const { parseRootJson, signRootProposal } = await ceremonyCore();
      const staged = parseRootJson(readJsonFile(o.in));
      const signer = await (await signers()).openKeySigner(o.key);
      try {
        const [s] = await signRootProposal(staged, [signer]);
        const out = staged.toJSON() as { signatures: { keyid: string; sig: string }[] };
        out.signatures = [...out.signatures.filter((x) => x.keyid !== s!.keyid), { keyid: s!.keyid, sig: s!.sig }];
        writeStaged(o.out, out);
        const isRootKey = (staged.signed.roles.root?.keyIDs ?? []).includes(s!.keyid);
        print(o.json, { version: staged.signed.version, keyid: s!.keyid, out: o.out }, () => [
          `signed root v${staged.signed.version} with key ${s!.keyid}; wrote ${o.out}`,
          ...(isRootKey ? [] : [`note: this key is not a root key of root v${staged.signed.version}; it counts only if it is one of the current root`]),
          `import it where the service runs: keyshare root sign --in ${o.out}`,
        ]);
      } finally {
        await signer.close?.();
      }
      return;
    }

    const client = AdminClient.from(o);
    let p: ProposalView;
    if (o.in) {
      p = await client.call<ProposalView>('POST', '/root/proposal/signatures', { metadata: readJsonFile(o.in) });
    } else {
      const staged = await client.call<ProposalView>('GET', '/root/proposal');
      const { parseRootJson, signRootProposal } = await ceremonyCore();
      const signer = await (await signers()).openKeySigner(o.key);
      try {
        const sigs = await signRootProposal(parseRootJson(staged.metadata), [signer]);
        p = await client.call<ProposalView>('POST', '/root/proposal/signatures', { signatures: sigs });
      } finally {
        await signer.close?.();
      }
    }
    print(o.json, p, () => proposalLines(p));
  });

  adminOptions(cmd.command('publish').description('publish the staged root when both thresholds are met; otherwise say what is missing (THRESHOLD_NOT_MET)')).action(
    async (o) => {
      const r = await AdminClient.from(o).call<RootPublishResult>('POST', '/root/publish');
      print(o.json, r, () => [
        `published root v${r.version} (timestamp version ${r.timestampVersion})`,
        ...(r.rotatedRoles.length ? [`new online keys for ${r.rotatedRoles.join(', ')}: re-signed ${r.rolesSigned.length - 1} roles with them`] : []),
        `clients pinned to older roots move to root v${r.version} on their next refresh; <data>/root.json is now root v${r.version}`,
      ]);
    },
  );

  adminOptions(cmd.command('discard').description('drop the staged root (and any online key that `key rotate` staged with it)')).action(async (o) => {
    const r = await AdminClient.from(o).call<{ discarded: boolean }>('DELETE', '/root/proposal');
    print(o.json, r, () => 'discarded the staged root');
  });
  return cmd;
}
