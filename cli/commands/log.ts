import { resolve } from 'node:path';
import { Command } from 'commander';
import { KeyshareError, Codes } from '../../service/errors.js';
import { readInputFile } from '../files.js';
import { print } from '../output.js';
import { serverUrl } from '../settings.js';
import { FetchCodes } from '../../sync/client/errors.js';

/** `keyshare log verify|show` (issue 23): audit a server's transparency log from outside. */
export function logCommand(): Command {
  const log = new Command('log').description("audit the service's transparency log of published versions");
  log
    .command('verify')
    .description('read every log entry, check the signed root, replay the entries and compare them with the TUF files still served')
    .option('--server <url>', 'keyshare server (env KEYSHARE_SERVER, default http://127.0.0.1:8080)')
    .option('--root <file>', "the server's root.json, pinned out of band: the log key is the one its signed TUF targets state")
    .option('--log-key <file>', "instead of --root: the log's verifier key, obtained out of band (with --root: must be the stated one)")
    .option('--from <checkpoint>', 'a signed checkpoint kept earlier (a file): the log must extend it')
    .option('--json', 'print machine-readable JSON')
    .addHelpText(
      'after',
      `
Exits 1 with LOG_INCONSISTENT when the entries do not hash to the signed root, when the log does
not extend --from, when timestamp versions go back, or when an entry differs from a file the
server still serves. Gaps between timestamp versions (version jumps) are listed, not refused.

Examples:
  keyshare log verify --server https://keyshare.acme.io --root root.json
  keyshare log verify --server https://keyshare.acme.io --root root.json --from ~/.cache/keyshare/https_keyshare.acme.io/log/checkpoint --json`,
    )
    .action(async (o) => {
      const { get, tuf, key } = await logReader(o);
      const { auditLog } = await import('../../sync/client/log-audit.js');
      const report = await auditLog({ get, tuf, key, from: o.from ? readInputFile(resolve(o.from)).toString('utf8') : null });
      if (report.served.mismatched.length > 0) {
        throw new KeyshareError(FetchCodes.LOG_INCONSISTENT, `log entries differ from the served ${report.served.mismatched.map((m) => `${m.file} (entry ${m.index})`).join(', ')}`, { details: report });
      }
      print(o.json, report, () => [
        `log ${report.origin}: ${report.size} entries verified against the signed root (timestamp v${report.versions.first} to v${report.versions.last})`,
        `${report.served.checked} entries match the TUF files still served`,
        ...report.gaps.map((g) => `gap: timestamp v${g.after} is followed by v${g.next}`),
      ]);
    });
  log
    .command('show <version>')
    .description("the log entry of a timestamp version, with its inclusion proof verified against the log's signed checkpoint")
    .option('--server <url>', 'keyshare server (env KEYSHARE_SERVER, default http://127.0.0.1:8080)')
    .option('--root <file>', "the server's root.json, pinned out of band: the log key is the one its signed TUF targets state")
    .option('--log-key <file>', "instead of --root: the log's verifier key, obtained out of band (with --root: must be the stated one)")
    .option('--json', 'print machine-readable JSON')
    .addHelpText(
      'after',
      `
The entry commits to the timestamp and snapshot of that version (their SHA-256), the time it
was published and the head of the service's audit chain. The files still served are compared
with it. What the version changed is \`keyshare diff --from <previous> --to VERSION\` (admin).
Exits 1 with NOT_LOGGED when the version has no entry, LOG_INCONSISTENT when the proof fails.

Examples:
  keyshare log show 42 --server https://keyshare.acme.io --root root.json
  keyshare log show 42 --server https://keyshare.acme.io --log-key log.vkey --json`,
    )
    .action(async (version: string, o) => {
      if (!/^[1-9][0-9]{0,14}$/.test(version)) throw new KeyshareError(Codes.BAD_REQUEST, `a version is a timestamp version number, not ${JSON.stringify(version)}`);
      const { get, tuf, key } = await logReader(o);
      const { showLogEntry } = await import('../../sync/client/log-show.js');
      const r = await showLogEntry({ get, tuf, key, version: Number(version) });
      const e = r.entry;
      print(o.json, r, () => [
        `timestamp v${e.timestamp.version} is entry ${r.index} of the log ${r.origin} (${r.size} entries, root ${r.root}): inclusion proof of ${r.proof.length} hashes verified`,
        `  published ${e.time}`,
        `  timestamp v${e.timestamp.version} sha256:${e.timestamp.sha256} (${r.served.timestamp})`,
        `  snapshot v${e.snapshot.version} sha256:${e.snapshot.sha256} (${r.served.snapshot})`,
        `  audit chain ${e.audit ? `entry ${e.audit.seq} sha256:${e.audit.hash}` : 'empty'}`,
        r.previousVersion === null ? '  the first entry of the log' : `  follows timestamp v${r.previousVersion}: what changed is keyshare diff --from ${r.previousVersion} --to ${e.timestamp.version}`,
      ]);
    });
  return log;
}

/**
 * The log and TUF readers of a server, and the log key: the one the signed TUF targets state
 * (verified from --root), or --log-key given out of band; never the key the server announces.
 */
async function logReader(o: { server?: string; root?: string; logKey?: string }) {
  const { HttpFetcher } = await import('../../sync/client/index.js');
  const { logGetter } = await import('../../sync/client/log-state.js');
  const { statedLogKey } = await import('../../sync/client/log-key-stated.js');
  const { parseVerifierKey } = await import('../../shared/tlog/note.js');
  if (!o.root && !o.logKey) throw new KeyshareError(Codes.CONFIG_INVALID, "give --root (the server's pinned root.json: the log key is the one its signed targets state) or --log-key");
  const server = serverUrl(o.server).replace(/\/+$/, '');
  const fetcher = new HttpFetcher();
  const get = logGetter(server, fetcher);
  const tuf = logGetter(`${server}/tuf`, fetcher, '');
  const parse = (text: string, where: string) => {
    try {
      return parseVerifierKey(text);
    } catch (e) {
      throw new KeyshareError(Codes.CONFIG_INVALID, `${where}: ${(e as Error).message}`);
    }
  };
  const given = o.logKey ? parse(readInputFile(resolve(o.logKey)).toString('utf8'), '--log-key') : null;
  const stated = o.root ? parse(await statedLogKey(server, resolve(o.root), fetcher), 'the log key the signed targets state') : null;
  if (given && stated && given.vkey !== stated.vkey) throw new KeyshareError(FetchCodes.LOG_INCONSISTENT, `--log-key is not the log key ${stated.vkey} that the signed targets state`);
  return { get, tuf, key: (stated ?? given)! };
}
