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
      const { bindListener, startServer } = await import('../../service/server.js');
      const { lockDataDir } = await import('../../service/util/data-dir-lock.js');
      const logger = createLogger({ level: config.logLevel });
      const dir = config.data;
      // Issue 24 row 14: bind the address and lock the data dir before anything writes.
      const listener = await bindListener(config.listen);
      const unlock = lockDataDir(dir);
      process.on('exit', unlock);
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
      const instance = await openInstance({ dataDir: dir, database: config.database, expiry: config.expiry, onPublishError: (err) => logger.error({ err }, 'publish failed') });
      // Issue 24 row 10: what the checks at open found.
      if (instance.storeCheck != null) logger[instance.storeCheck === 'ok' ? 'info' : 'error']({ quickCheck: instance.storeCheck }, 'database quick_check');
      if (instance.repaired?.length) logger.warn({ roles: instance.repaired }, 're-signed damaged metadata from the stored records before serving');
      const server = await startServer(instance, config.listen, log, {
        logger,
        maxBodyBytes: config.maxBodyBytes,
        shutdownTimeoutMs: config.shutdownTimeoutMs,
        console: { sessionTtlSeconds: config.sessionTtlSeconds },
        staticDir: config.staticDir,
        upstreams: { pollMs: config.upstreamPollMs },
        database: config.database,
        listener,
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
