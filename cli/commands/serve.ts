import { Command } from 'commander';
import { dataDir, listenAddress } from '../settings.js';

export function serveCommand(): Command {
  return new Command('serve')
    .description('run the service: the TUF repository under /tuf/ and the admin API under /api/v1/')
    .option('--data <dir>', 'data dir (env KEYSHARE_DATA, default ./keyshare-data)')
    .option('--listen <host:port>', 'listen address (env KEYSHARE_LISTEN, default 127.0.0.1:8080)')
    .addHelpText('after', '\nOn first start with an empty data dir, serve initialises a DEVELOPMENT repository.\n\nExample:\n  keyshare serve --data ./keyshare-data --listen 127.0.0.1:8080')
    .action(async (o) => {
      // Loaded on use: the service modules cost most of the CLI's start-up, which admin commands do not need.
      const { initDataDir, isInitialized, openInstance } = await import('../../service/instance.js');
      const { startServer } = await import('../../service/server.js');
      const dir = dataDir(o.data);
      if (!isInitialized(dir)) {
        const r = await initDataDir({ dataDir: dir });
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
      const log = (e: Record<string, unknown>) => process.stderr.write(JSON.stringify({ time: new Date().toISOString(), ...e }) + '\n');
      const instance = openInstance({ dataDir: dir, onPublishError: (e) => log({ level: 'error', msg: 'publish failed', err: String(e) }) });
      const server = await startServer(instance, listenAddress(o.listen), log);
      process.stderr.write(`keyshare serving ${server.url}/tuf/ (root.json: ${dir}/root.json, admin token: ${dir}/admin.token)\n`);
      let stopping = false;
      const stop = async () => {
        if (stopping) return;
        stopping = true;
        await server.close();
        process.exit(0);
      };
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
    });
}
