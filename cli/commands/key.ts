import { Command, Argument } from 'commander';
import { KeyshareError, Codes } from '../../service/errors.js';
import { AdminClient } from '../client.js';
import { print } from '../output.js';
import { adminOptions } from './admin-options.js';
import { OFFLINE_STEPS, proposalLines } from './root.js';
import type { RotateResult } from '../../service/root-ceremony.js';
import type { LogKeyRotation } from '../../service/tlog/rotate.js';

export function keyCommand(): Command {
  const cmd = new Command('key').description('online signing keys (targets, snapshot, timestamp) and the transparency log key');
  adminOptions(
    cmd
      .command('rotate')
      .description('replace an online key with a new one, named by root N+1; or (log) the transparency log key, stated in the signed targets')
      .addArgument(new Argument('<role>', 'the online role, or log').choices(['timestamp', 'snapshot', 'targets', 'log']))
      .option('--pkcs11 <token-uri>', 'generate the new key (ECDSA P-256) inside this PKCS#11 token instead of a key file')
      .addHelpText(
        'after',
        [
          '',
          'The service generates the new key in its data dir and stages root N+1 naming it.',
          '- While the root keys are still in the data dir (development), it signs root N+1 with them and',
          '  publishes it at once, then re-signs every role the old key signed (for targets: the trust role',
          '  and every hashed bin too). Clients recover on their next refresh (TUF spec 5.3.11).',
          '- When the root keys are offline, root N+1 waits for their signatures; the old key keeps',
          '  signing until it is published.',
          '',
          'With --pkcs11, the service generates the key inside the token (non-extractable) and keeps',
          'its URI in keys/<role>.pkcs11; the service needs the PIN (pin-value or pin-source in the URI,',
          'or KEYSHARE_PKCS11_PIN in its environment), and loads only a module its operator configured',
          '(KEYSHARE_PKCS11_MODULE, or KEYSHARE_PKCS11_MODULES separated by ":"). Example (SoftHSM2):',
          '  keyshare key rotate timestamp --pkcs11 "pkcs11:token=keyshare?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=/etc/keyshare/pin"',
          '',
          'key rotate log: a new key for the same transparency log (keys/log.key; copy it to replicas).',
          'The newest checkpoint is signed again with both keys, and a publish states the new key in the',
          'signed top-level targets, where clients take it from; then the old key stops signing. Give',
          'witnesses (serve --witness-for) the new /log/key.',
          '',
          ...OFFLINE_STEPS,
        ].join('\n'),
      ),
  ).action(async (role: string, o) => {
    if (role === 'log') {
      if (o.pkcs11) throw new KeyshareError(Codes.BAD_REQUEST, 'the log key is an Ed25519 key file (keys/log.key); --pkcs11 is for the online TUF roles');
      const r = await AdminClient.from(o).call<LogKeyRotation>('POST', '/keys/log/rotate', {}, { awaitPublish: false });
      print(o.json, r, () => [`rotated the transparency log key: ${r.key}`, `the signed targets of timestamp version ${r.timestampVersion} state it (was ${r.previous})`]);
      return;
    }
    // `published: null` here means root N+1 is staged for offline root signatures, not a write
    // waiting for the publisher: the client must not wait and replace it with a timestamp version.
    const r = await AdminClient.from(o).call<RotateResult>('POST', `/keys/${role}/rotate`, o.pkcs11 ? { pkcs11: o.pkcs11 } : {}, { awaitPublish: false });
    print(o.json, r, () =>
      r.published
        ? [
            `rotated the ${role} key: new key ${r.keyid}`,
            `published root v${r.published.version} and re-signed ${r.published.rolesSigned.length - 1} roles (timestamp version ${r.published.timestampVersion})`,
          ]
        : [
            `staged root v${r.proposal!.version} with a new ${role} key ${r.keyid}; the ${role} key in use does not change until it is published.`,
            ...proposalLines(r.proposal!),
            '',
            ...OFFLINE_STEPS,
          ],
    );
  });
  return cmd;
}
