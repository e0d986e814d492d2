import { Command } from 'commander';
import { configOptions } from '../config-options.js';
import { KeyshareError, Codes } from '../../service/errors.js';

export function serveCommand(): Command {
  const cmd = new Command('serve')
    .description('run the service: the TUF repository under /tuf/ and the admin API under /api/v1/')
    .option('--data <dir>', 'data dir (env KEYSHARE_DATA, default ./keyshare-data)')
    .option('--listen <host:port>', 'listen address (env KEYSHARE_LISTEN, default 127.0.0.1:8080)')
    .option('--production', 'production mode (env KEYSHARE_PRODUCTION=1; implied by a non-loopback --listen): never initialise a repository implicitly')
    .option('--min-version <n>', 'after a restore: the highest timestamp version clients may have seen (refuses with RESTORE_BEHIND if the database is older)')
    .option('--peer <url...>', 'after a restore: servers of the same repository whose /tuf/timestamp.json tells what was published')
    .option('--accept-restore-loss', 'after a restore: serve the restored trust although versions published after the backup are lost (re-signed above them)')
    .option('--witness-for <log-key-file...>', "also witness these logs (C2SP tlog-witness at /witness/add-checkpoint): each file is a log's verifier key (its /log/key)")
    .option('--witness-name <name>', 'the name of this witness key when it is first made (default keyshare-witness/<hash of its key>)')
    .addHelpText(
      'after',
      '\nOn first start with an empty data dir, serve initialises a DEVELOPMENT repository, except in production mode\n' +
        '(--production, or a --listen address other than loopback), where it refuses with INIT_REQUIRED: run `keyshare init`.\n' +
        'After a restore, serve refuses (RESTORE_BEHIND) to publish trust older than versions already published (static dir,\n' +
        '--peer, --min-version): replay the revocations (keyshare revocations replay), then start with --accept-restore-loss.\n' +
        'Settings come from flags, then KEYSHARE_* environment variables, then keyshare.yaml (in the data dir, or --config FILE).\n' +
        'SIGTERM stops it gracefully: in-flight requests finish and a running publish completes.\n' +
        'With --witness-for, it also cosigns the checkpoints of those logs that are consistent with the last one it cosigned\n' +
        '(key: <data>/keys/witness.key; give its /witness/key to the log\'s `keyshare witness add`).\n' +
        'With --sigstore-scope SCOPE, it publishes that scope as the TUF target trusted_root.json, so that Sigstore clients can\n' +
        'use it as their TUF mirror: sigstore-js tufMirrorURL URL/tuf, or `cosign initialize --mirror URL/tuf --root root.json`.\n\n' +
        'Examples:\n  keyshare serve --data ./keyshare-data --listen 127.0.0.1:8080\n  KEYSHARE_LOG_LEVEL=debug keyshare serve --config /etc/keyshare/keyshare.yaml\n' +
        '  keyshare serve --data ./keyshare-data --sigstore-scope registry.acme.io\n',
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
      const { TrustedProxies } = await import('../../service/http/client.js');
      const { addressPolicy } = await import('../../service/net/outbound.js');
      const logger = createLogger({ level: config.logLevel });
      const dir = config.data;
      // A database setting this version cannot use is refused before the data dir is made.
      const { supportedDatabase } = await import('../../service/store/database.js');
      supportedDatabase(config.database);
      // Issue 24 row 14: bind the address and lock the data dir before anything writes.
      const listener = await bindListener(config.listen);
      const unlock = lockDataDir(dir);
      process.on('exit', unlock);
      // With PostgreSQL, a data dir without root.json over a database that holds a repository is refused (initDataDir).
      if (!isInitialized(dir, config.database)) {
        // Issue 24: a mistyped data dir or database must not become a new repository in production.
        const { productionMode } = await import('../../service/restore-guard.js');
        const production = productionMode({ flag: Boolean(o.production), env: process.env.KEYSHARE_PRODUCTION, listen: config.listen });
        if (production) {
          throw new KeyshareError(
            Codes.INIT_REQUIRED,
            `${dir} holds no keyshare repository${config.database ? ' (or the database holds none)' : ''}, and serve does not create one in production mode (${production}): ` +
              'run `keyshare init` with this data dir (and move the root keys offline), or check --data and --database for a typo',
          );
        }
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
      // Issue 24: after a restore, never publish trust older than what clients saw, unless confirmed.
      const { guardRestore } = await import('../../service/restore-guard.js');
      const { journalPath } = await import('../../service/revocation-journal.js');
      const minVersion = o.minVersion === undefined ? null : Number(o.minVersion);
      if (minVersion !== null && (!Number.isSafeInteger(minVersion) || minVersion < 1)) throw new KeyshareError(Codes.CONFIG_INVALID, '--min-version must be a timestamp version, a whole number');
      const restore = await guardRestore({
        dataDir: dir,
        database: config.database,
        staticDir: config.staticDir,
        peers: o.peer ?? [],
        minVersion,
        acceptLoss: Boolean(o.acceptRestoreLoss),
        journal: journalPath(dir, config.revocationJournal),
        log,
      });
      if (restore) {
        const lost = restore.missing > 0 ? `${restore.missing} published version(s) are lost` : 'no published version is lost';
        logger.warn({ ...restore }, `serving a restored database: ${lost}; timestamp version ${restore.from} -> ${restore.to}`);
        process.stderr.write(`keyshare: warning: serving a restored database: ${lost} (highest published: ${restore.highest?.version ?? 'unknown'}); timestamp version ${restore.from} -> ${restore.to}\n`);
      }
      // Issue 19: the sigstore scope's TrustedRoot as the target trusted_root.json (null: none, one published before is removed).
      const { trustedRootBytes } = await import('../../sync/formats/sigstore.js');
      const instance = await openInstance({
        dataDir: dir,
        database: config.database,
        expiry: config.expiry,
        revocationJournal: config.revocationJournal,
        crlValidityMs: config.crlValidityMs,
        onPublishError: (err) => logger.error({ err }, 'publish failed'),
        onJournalError: (err) => logger.error({ err }, 'revocation journal write failed'),
        sigstoreRoot: { scope: config.sigstoreScope, build: trustedRootBytes((scope, warning) => logger.warn({ scope }, warning)) },
        outbound: addressPolicy(config.allowPrivateUpstreams),
      });
      if (config.sigstoreScope !== null && !(await instance.store.getScope(config.sigstoreScope))) {
        logger.warn({ scope: config.sigstoreScope }, 'the --sigstore-scope scope is not defined: trusted_root.json is published once it is');
      }
      // Issue 24 row 10: what the checks at open found.
      if (instance.storeCheck != null) logger[instance.storeCheck === 'ok' ? 'info' : 'error']({ quickCheck: instance.storeCheck }, 'database quick_check');
      if (instance.repaired?.length) logger.warn({ roles: instance.repaired }, 're-signed damaged metadata from the stored records before serving');
      // Issue 23: this service as a witness of other keyshare logs.
      let witness;
      if (o.witnessFor?.length) {
        const { Witness, loadWitnessKey, readLogKeys } = await import('../../service/tlog/witness.js');
        witness = new Witness(instance.store, loadWitnessKey(dir, o.witnessName), readLogKeys(o.witnessFor));
        logger.info({ witness: witness.cosigner.name, logs: witness.origins }, 'witnessing');
      }
      const server = await startServer(instance, config.listen, log, {
        witness,
        logger,
        maxBodyBytes: config.maxBodyBytes,
        shutdownTimeoutMs: config.shutdownTimeoutMs,
        console: { sessionTtlSeconds: config.sessionTtlSeconds },
        staticDir: config.staticDir,
        upstreams: { pollMs: config.upstreamPollMs, originGraceSeconds: config.originGraceSeconds },
        clients: config.clients,
        database: config.database,
        advertiseUrl: config.advertiseUrl,
        listener,
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
