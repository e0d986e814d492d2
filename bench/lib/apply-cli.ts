/**
 * B4: `keyshare apply FILE` of N scopes through the CLI, as a user runs it (issue 17, item 5):
 * a JSON file over the admin API's body limit, streamed as NDJSON into one atomic change, into
 * a fresh service. Counts the versions it published (goal: one) and the scopes per second
 * from starting the command to its exit.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initDataDir } from '../../service/instance.js';
import { applyFile, readToken } from './fixture.js';
import { timestampVersion } from './http.js';
import { run, startService } from './proc.js';
import type { Row } from './report.js';
import { fmtBytes, fmtMs } from './stats.js';

export async function benchApplyCli(work: string, n: number, keys: string[], cli: { argv: string[]; built: boolean }, log: (s: string) => void): Promise<Row[]> {
  const dataDir = join(work, 'data');
  await initDataDir({ dataDir });
  const file = join(work, 'trust.json');
  const text = JSON.stringify(applyFile(n, keys));
  writeFileSync(file, text);
  const svc = await startService({ data: dataDir }, cli.built);
  try {
    const url = svc.ready.url as string;
    const before = await timestampVersion(url);
    const r = await run(process.execPath, [...cli.argv, 'apply', file, '--server', url, '--token', readToken(dataDir), '--json'], { timeoutMs: 30 * 60_000 });
    if (r.code !== 0) throw new Error(`keyshare apply exited ${r.code}: ${r.stderr.slice(0, 300)}`);
    const summary = (JSON.parse(r.stdout) as { summary: { scopesCreated: string[] } }).summary;
    if (summary.scopesCreated.length !== n) throw new Error(`keyshare apply created ${summary.scopesCreated.length} scopes, not ${n}`);
    const versions = (await timestampVersion(url)) - before;
    const rate = n / (r.ms / 1000);
    log(`  B4 CLI apply of ${n} scopes (${fmtBytes(text.length)}): ${fmtMs(r.ms)}, ${Math.round(rate)} scopes/s, ${versions} version(s)`);
    return [
      {
        id: 'B4',
        figure: `\`keyshare apply\` of ${n.toLocaleString('en-US')} scopes through the CLI (a ${fmtBytes(text.length)} JSON file, streamed), one anchor each`,
        value: `${Math.round(rate)} scopes/s (${fmtMs(r.ms)}, ${versions} version${versions === 1 ? '' : 's'} published)`,
        baseline: 'scopes per second',
        ratio: '-',
        goal: '≥ 5,000/s, one version',
        status: rate >= 5000 && versions === 1 ? 'met' : 'missed',
        data: { scopes: n, fileBytes: text.length, ms: r.ms, scopesPerSecond: rate, versionsPublished: versions },
      },
    ];
  } finally {
    await svc.stop();
  }
}
