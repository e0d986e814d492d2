/**
 * The service in a process of its own, started as `keyshare serve` starts it (the same
 * logger at info on stderr, the same startServer), on a port it picks, reported over IPC.
 * Argument: JSON `{ data, staticDir?, pollMs?, logLevel? }`. Stops on the message "stop".
 */
import { createLogger } from '../../service/log.js';
import { openInstance } from '../../service/instance.js';
import { ANY_ADDRESS } from '../../service/net/outbound.js';
import { startServer } from '../../service/server.js';
import type { LogLevel } from '../../service/settings.js';

const cfg = JSON.parse(process.argv[2] ?? '{}') as { data: string; staticDir?: string; pollMs?: number; logLevel?: LogLevel };
const logger = createLogger({ level: cfg.logLevel ?? 'info' });
// Bench chains are on loopback (issue 16, finding 9).
const instance = await openInstance({ dataDir: cfg.data, outbound: ANY_ADDRESS, onPublishError: (err) => logger.error({ err }, 'publish failed') });
const server = await startServer(
  instance,
  '127.0.0.1:0',
  (e) => logger.info(e),
  { logger, staticDir: cfg.staticDir ?? null, ...(cfg.pollMs ? { upstreams: { pollMs: cfg.pollMs } } : {}) },
);
process.send!({ url: server.url, pid: process.pid });
process.on('message', (m) => {
  if (m === 'stop') void server.close().then(() => process.exit(0));
});
