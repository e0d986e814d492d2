/**
 * `keyshare witness add|ls|rm` (issue 23): the witnesses of this service's transparency log.
 * Each new checkpoint is sent to them (C2SP tlog-witness) and served with their cosignatures;
 * clients require them with `fetch --witness`. Thin: they call the admin API.
 */
import { Command } from 'commander';
import { AdminClient } from '../client.js';
import { readInputFile } from '../files.js';
import { print } from '../output.js';
import { adminOptions } from './admin-options.js';

interface WitnessView {
  name: string;
  url: string;
  key: string;
  addedAt: string;
  size: number;
  cosigned: boolean;
  lastError: string | null;
  lastAttemptAt: string | null;
}

const describe = (w: WitnessView) => [
  `${w.name}\t${w.url}`,
  `  key ${w.key}`,
  `  ${w.cosigned ? 'cosigned the newest checkpoint' : 'has not cosigned the newest checkpoint'}; last cosigned size ${w.size}`,
  ...(w.lastError ? [`  last error (${w.lastAttemptAt}): ${w.lastError}`] : []),
];

export function witnessCommand(): Command {
  const cmd = new Command('witness').description("the witnesses that cosign this service's transparency log checkpoints (C2SP tlog-witness)").addHelpText(
    'after',
    [
      '',
      'After each publish the new checkpoint is sent to every witness, with a consistency proof from the',
      'checkpoint it cosigned last; /log/checkpoint carries the cosignatures. A witness refuses a checkpoint',
      'inconsistent with one it cosigned (a split view): witness ls shows its answer. A keyshare service',
      'is a witness with `keyshare serve --witness-for LOG_KEY_FILE`; its key is at /witness/key.',
    ].join('\n'),
  );
  adminOptions(
    cmd
      .command('add <name>')
      .description("send this log's checkpoints to a witness for its cosignature")
      .requiredOption('--url <url>', "the witness's submission prefix: checkpoints go to <url>/add-checkpoint (a keyshare witness: https://host/witness)")
      .requiredOption('--key <file>', "the witness's cosignature/v1 verifier key, name+hash+base64 (a keyshare witness serves it at /witness/key)")
      .addHelpText('after', '\nExamples:\n  keyshare witness add w1 --url https://witness.example.org/witness --key w1.vkey'),
  ).action(async (name: string, o) => {
    const key = readInputFile(o.key).toString('utf8').trim();
    const r = await AdminClient.from(o).call<{ witness: WitnessView }>('POST', '/witnesses', { name, url: o.url, key });
    print(o.json, r, () => `added witness ${name}: the newest checkpoint is sent to it now (keyshare witness ls shows its answer)`);
  });
  adminOptions(
    cmd.command('ls').description('list the witnesses, whether each cosigned the newest checkpoint, and its last error').addHelpText('after', '\nExamples:\n  keyshare witness ls\n  keyshare witness ls --json'),
  ).action(async (o) => {
    const r = await AdminClient.from(o).call<{ witnesses: WitnessView[] }>('GET', '/witnesses');
    print(o.json, r, () => (r.witnesses.length ? r.witnesses.flatMap(describe) : ['no witnesses']));
  });
  adminOptions(
    cmd.command('rm <name>').description('stop sending checkpoints to a witness; its cosignatures are no longer served').addHelpText('after', '\nExamples:\n  keyshare witness rm w1'),
  ).action(async (name: string, o) => {
    const r = await AdminClient.from(o).call<{ witness: WitnessView }>('DELETE', `/witnesses/${encodeURIComponent(name)}`);
    print(o.json, r, () => `removed witness ${name}`);
  });
  return cmd;
}
