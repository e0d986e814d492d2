/**
 * New-version notices between replicas on one PostgreSQL database (issue 11): the publisher
 * sends `NOTIFY keyshare_published, '<timestamp version>'` after its commit, and every replica
 * LISTENs and reloads the served repository. `serve` uses it through service/replication.ts,
 * which also sends `keyshare_changed` from a replica that does not publish.
 *
 * Notifications sent while a listener is disconnected are lost, so after every (re)connect the
 * listener reports `resync`: the caller then checks the store, as it does on its polling timer.
 */
import pg from 'pg';

export const PUBLISHED_CHANNEL = 'keyshare_published';

export interface ListenerOptions {
  url: string;
  channel?: string;
  /** A notice (payload), or `{ resync: true }` after a (re)connect. */
  onNotice: (notice: { payload: string } | { resync: true }) => void;
  onError?: (error: unknown) => void;
  reconnectMs?: number;
}

export class PublishListener {
  private client: pg.Client | null = null;
  private stopped = true;
  private timer: NodeJS.Timeout | null = null;
  /** Each connection attempt's number: events of an older attempt are ignored. */
  private generation = 0;

  constructor(private readonly options: ListenerOptions) {}

  private get channel(): string {
    return this.options.channel ?? PUBLISHED_CHANNEL;
  }

  /** Connects and listens; resolves once listening (or after the first failure, retrying in the background). */
  async start(): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    await this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => {});
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const gen = ++this.generation;
    const client = new pg.Client({ connectionString: this.options.url, application_name: 'keyshare-publish-listener', keepAlive: true });
    client.on('notification', (n) => {
      if (n.channel === this.channel) this.options.onNotice({ payload: n.payload ?? '' });
    });
    client.on('error', (e) => this.lost(gen, client, e));
    client.on('end', () => this.lost(gen, client, new Error('connection ended')));
    try {
      await client.connect();
      // An identifier, not a value: quoted with the driver's own escaping.
      await client.query(`LISTEN ${client.escapeIdentifier(this.channel)}`);
      if (gen !== this.generation || this.stopped) {
        await client.end().catch(() => {});
        return;
      }
      this.client = client;
      this.options.onNotice({ resync: true });
    } catch (e) {
      this.lost(gen, client, e);
    }
  }

  private lost(gen: number, client: pg.Client, error: unknown): void {
    client.end().catch(() => {});
    if (this.stopped || gen !== this.generation) return;
    this.generation++; // later events of this connection are ignored
    if (this.client === client) this.client = null;
    this.options.onError?.(error);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.connect();
    }, this.options.reconnectMs ?? 1_000);
    this.timer.unref();
  }
}

/** Tells every listening replica that `version` is published (after the commit). */
export async function notifyPublished(client: Pick<pg.Client, 'query'>, version: number, channel = PUBLISHED_CHANNEL): Promise<void> {
  await client.query('SELECT pg_notify($1, $2)', [channel, String(version)]);
}
