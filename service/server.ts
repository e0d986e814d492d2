/** Runs the HTTP service on a socket, with the publisher's re-signing timer and graceful shutdown. */
import { serve, type ServerType } from '@hono/node-server';
import { createApp } from './http/app.js';
import type { Instance } from './instance.js';
import { KeyshareError, Codes } from './errors.js';

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(listen);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new KeyshareError(Codes.CONFIG_INVALID, `--listen must be HOST:PORT, not ${JSON.stringify(listen)}`);
  return { host: (m[1] ?? m[2])!, port };
}

export async function startServer(instance: Instance, listen: string, log: (e: Record<string, unknown>) => void = () => {}): Promise<RunningServer> {
  const { host, port } = parseListen(listen);
  const app = createApp({ instance, log });
  // Publish anything committed while no publisher ran (e.g. an import into the data dir), then keep roles fresh.
  await instance.publisher.notify();
  instance.publisher.start();
  const server: ServerType = await new Promise((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: host, port }, () => resolve(s));
    s.once('error', reject);
  });
  const address = server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${actualPort}`,
    async close() {
      // Stop accepting, let in-flight requests finish, let a running publish complete.
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await instance.close();
    },
  };
}
