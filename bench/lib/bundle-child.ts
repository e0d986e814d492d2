/**
 * B7 worker: one bundle export or import in a process of its own, so that its peak RSS is its
 * own. Argument: JSON `{ op: 'export', dataDir, out }` or `{ op: 'import', dataDir, file, root }`.
 * Prints `{ ms, maxRss }` (bytes) as JSON on the IPC channel.
 */
import { readFileSync } from 'node:fs';
import { exportBundle } from '../../service/federation/bundle/export.js';
import { bundles } from '../../service/composition.js';

const cfg = JSON.parse(process.argv[2] ?? '{}') as { op: 'export' | 'import'; dataDir: string; out?: string; file?: string; root?: string };
const t0 = performance.now();
if (cfg.op === 'export') await exportBundle({ dataDir: cfg.dataDir, out: cfg.out! });
else await bundles.importBundle({ dataDir: cfg.dataDir, file: cfg.file!, root: readFileSync(cfg.root!) });
const ms = performance.now() - t0;
// resourceUsage().maxRSS is in kilobytes.
process.send!({ ms, maxRss: process.resourceUsage().maxRSS * 1024 }, () => process.exit(0));
