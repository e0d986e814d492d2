import { Command } from 'commander';
import { configOptions } from '../config-options.js';

export function serveCommand(): Command {
  const cmd = new Command('serve')
    .description('run the service: the TUF repository under /tuf/ and the admin API under /api/v1/')
    .option('--data <dir>', 'data dir (env KEYSHARE_DATA, default ./keyshare-data)')
    .option('--listen <host:port>', 'listen address (env KEYSHARE_LISTEN, default 127.0.0.1:8080)')
    .addHelpText(
      'after',
      '\nOn first start with an empty data dir, serve initialises a DEVELOPMENT repository.\n' +
        'Settings come from flags, then KEYSHARE_* environment variables, then keyshare.yaml (in the data dir, or --config FILE).\n' +
        'SIGTERM stops it gracefully: in-flight requests finish and a running publish completes.\n\n' +
        'Examples:\n  keyshare serve --data ./keyshare-data --listen 127.0.0.1:8080\n  KEYSHARE_LOG_LEVEL=debug keyshare serve --config /etc/keyshare/keyshare.yaml\n',
    );
  return configOptions(cmd).action(async (o) => {
      // One validated configuration: flags, then environment, then keyshare.yaml (service/config.ts).
      const { loadConfig } = await import('../../service/config.js');
      const config = loadConfig({ flags: o });
      // Loaded on use: the service modules cost most of the CLI's start-up, which admin commands do not need.
      const { createLogger } = await import('../../service/log.js');
      const { initDataDir, isInitialized, openInstance } = await import('../../service/instance.js');
      const { startServer } = await import('../../service/server.js');
      const { TrustedProxies } = await import('../../service/http/client.js');
      const logger = createLogger({ level: config.logLevel });
      const dir = config.data;
      // With PostgreSQL, a data dir without root.json over a database that holds a repository is refused (initDataDir).
      if (!isInitialized(dir, config.database)) {
        const r = await initDataDir({ dataDir: dir, database: config.database, expiry: config.expiry });
        process.stderr.write(
          [
            '',
            '!!! WARNING: initialised a DEVELOPMENT repository. Its root key is stored in the data dir,',
            '!!! next to the service. Do not use it in production: run `keyshare init` and move the root keys offline.',
            '',
            `root.json:   ${r.rootPath}`,
            `admin.token: ${r.tokenPath}`,
            '',
          ].join('\n'),
        );
      }
      const log = (e: Record<string, unknown>) => {
        const { level, msg, ...rest } = e;
        const method = level === 'error' || level === 'warn' || level === 'debug' ? level : 'info';
        logger[method](rest, typeof msg === 'string' ? msg : undefined);
      };
      // Issue 16, finding 8: everything in the data dir is 0600 (files) or 0700 (directories).
      const { widerThanPrivate } = await import('../../service/util/private-files.js');
      for (const wide of widerThanPrivate(dir)) logger.warn({ path: wide.path, mode: wide.mode }, 'data dir entry is readable by others than the service user: chmod it to 0600 (files) or 0700 (directories)');
      const instance = await openInstance({ dataDir: dir, database: config.database, expiry: config.expiry, onPublishError: (err) => logger.error({ err }, 'publish failed') });
      const server = await startServer(instance, config.listen, log, {
        logger,
        maxBodyBytes: config.maxBodyBytes,
        shutdownTimeoutMs: config.shutdownTimeoutMs,
        console: { sessionTtlSeconds: config.sessionTtlSeconds },
        staticDir: config.staticDir,
        upstreams: { pollMs: config.upstreamPollMs },
        database: config.database,
        trustedProxies: TrustedProxies.parse(config.trustedProxy),
      });
      logger.info({ url: server.url, data: dir, config: config.configFile }, 'serving');
      process.stderr.write(`keyshare serving ${server.url}/tuf/ (root.json: ${dir}/root.json, admin token: ${dir}/admin.token)\n`);
      let stopping = false;
      const stop = async (signal: string) => {
        if (stopping) return;
        stopping = true;
        // Graceful: in-flight requests finish and a running publish completes before the exit.
        logger.info({ signal }, 'shutting down');
        await server.close();
        logger.info('stopped');
        process.exit(0);
      };
      process.on('SIGTERM', () => void stop('SIGTERM'));
      process.on('SIGINT', () => void stop('SIGINT'));
    });
}
