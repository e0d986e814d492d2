/**
 * Replicas on one PostgreSQL database (issue 11; docs/DEPLOYMENT.md "Replicas with PostgreSQL").
 * Every `serve` process accepts admin writes and serves the latest published repository from
 * memory; only the holder of the publisher lease (./store/pg/lease.ts) signs and commits.
 *
 * - Leadership: the lease decides, through the publisher's gate. A replica that gains it
 *   publishes at once what is pending (publish() first reloads what the last leader published).
 * - A write on a follower: the publisher hands it off with `NOTIFY keyshare_changed`; the leader
 *   LISTENs and publishes.
 * - A publish (or reload) on the leader: `NOTIFY keyshare_published`; every replica LISTENs and
 *   reloads.
 * - Notifications can be lost (a reconnect): the publisher's 2 s check of the store
 *   (Publisher.checkExternalWrites) is the fallback, and each listener resyncs on reconnect.
 *
 * Safety never depends on the lease: the store refuses a publish whose base timestamp moved
 * (CONFLICT) and (role, version) is unique, so a leader that lost the lease mid-publish just
 * fails its commit, and then reloads as a follower.
 */
import pg from 'pg';
import type { Publisher } from './repo/publisher.js';
import { PublisherLease } from './store/pg/lease.js';
import { PUBLISHED_CHANNEL, PublishListener } from './store/pg/notify.js';

/** A follower committed a change: the leader should publish. */
export const CHANGED_CHANNEL = 'keyshare_changed';

/** What replication needs of the publisher (service/repo/publisher.ts). */
export type ReplicatedPublisher = Pick<Publisher, 'setGate' | 'notify' | 'onServedChange' | 'latestMetadata' | 'checkExternalWrites' | 'canSign'>;

export interface ReplicationOptions {
  /** The PostgreSQL URL the store uses. */
  url: string;
  /** How often a follower tries the lease (default 2 s: failover well within 10 s). */
  retryMs?: number;
  log?: (e: Record<string, unknown>) => void;
  /** Issue 24: this replica's `--advertise-url`, recorded in the database while it publishes. */
  advertiseUrl?: string | null;
  /** Where the publisher's URL is kept (the store's meta table). */
  meta?: { getMeta(key: string): Promise<string | null>; setMeta(key: string, value: string): Promise<void> };
}

/** The meta key holding the advertised URL of the replica that holds the lease. */
export const PUBLISHER_URL_META = 'publisher_url';

export class Replication {
  private readonly lease: PublisherLease;
  private readonly listeners: PublishListener[];
  /** One connection that sends the notices. */
  private readonly sender: pg.Pool;
  private unsubscribe: () => void = () => {};
  /** The publisher's advertised URL, as last read from the database. */
  private publisherUrl: string | null = null;

  constructor(
    private readonly publisher: ReplicatedPublisher,
    private readonly options: ReplicationOptions,
  ) {
    const { url } = options;
    this.lease = new PublisherLease({
      url,
      retryMs: options.retryMs ?? 2_000,
      // Issue 24 row 4: only a replica that holds the online keys the root names publishes.
      eligible: () => publisher.canSign(),
      onChange: (leader) => {
        const why = !leader && !publisher.canSign() ? ': it cannot sign with the online keys the root names (copy keys/ from the publisher and restart)' : '';
        this.log(why ? 'error' : 'info', (leader ? 'this replica is now the publisher' : 'this replica is no longer the publisher') + why, { leader });
        if (leader) {
          this.advertise();
          void publisher.notify();
        }
      },
      onError: (e) => this.log('warn', 'publisher lease connection lost', { err: message(e) }),
    });
    this.listeners = [
      // Another replica published: serve it (a resync after a reconnect checks the same way).
      new PublishListener({ url, channel: PUBLISHED_CHANNEL, onNotice: () => this.check(), onError: (e) => this.log('warn', 'listener connection lost', { err: message(e) }) }),
      // A follower committed a change: the leader publishes it (a follower ignores it).
      new PublishListener({
        url,
        channel: CHANGED_CHANNEL,
        onNotice: () => {
          if (this.lease.isLeader()) void publisher.notify();
        },
        onError: () => {},
      }),
    ];
    this.sender = new pg.Pool({ connectionString: url, max: 1, idleTimeoutMillis: 30_000, application_name: 'keyshare-notify' });
    this.sender.on('error', () => {}); // an idle connection's error; the next query reconnects
  }

  isLeader(): boolean {
    return this.lease.isLeader();
  }

  /** Gates the publisher, listens, and starts trying the lease. */
  async start(): Promise<void> {
    this.publisher.setGate({
      leads: () => this.lease.isLeader(),
      handOff: () => this.send(CHANGED_CHANNEL, ''),
      publisherUrl: () => (this.lease.isLeader() ? (this.options.advertiseUrl ?? null) : this.publisherUrl),
    });
    await this.readPublisherUrl();
    // After the leader's commit (a publish, a root or tenant publish, a reload): tell the others.
    this.unsubscribe = this.publisher.onServedChange(() => {
      const version = this.publisher.latestMetadata('timestamp')?.version;
      if (this.lease.isLeader() && version !== undefined) this.send(PUBLISHED_CHANNEL, String(version));
    });
    await Promise.all(this.listeners.map((l) => l.start()));
    await this.lease.start();
  }

  /** Releases the lease (another replica takes over at its next try) and closes the connections. */
  async stop(): Promise<void> {
    this.unsubscribe();
    await this.lease.stop();
    await Promise.all(this.listeners.map((l) => l.stop()));
    await this.sender.end().catch(() => {});
  }

  private check(): void {
    this.publisher.checkExternalWrites().catch((e) => this.log('error', 'reload failed', { err: message(e) }));
    void this.readPublisherUrl();
  }

  /** The new publisher records its URL (or that it gave none), for NOT_PUBLISHER on the others. */
  private advertise(): void {
    const url = this.options.advertiseUrl ?? null;
    this.options.meta
      ?.setMeta(PUBLISHER_URL_META, JSON.stringify({ url }))
      .then(() => this.send(PUBLISHED_CHANNEL, '')) // the others read it at once
      .catch((e) => this.log('warn', 'cannot record the publisher URL', { err: message(e) }));
  }

  private async readPublisherUrl(): Promise<void> {
    try {
      const raw = await this.options.meta?.getMeta(PUBLISHER_URL_META);
      this.publisherUrl = raw ? ((JSON.parse(raw) as { url?: string | null }).url ?? null) : null;
    } catch {
      // keep the last known URL; the next check reads it again
    }
  }

  private send(channel: string, payload: string): void {
    // Best effort: a lost notice is caught up by the 2 s check.
    this.sender.query('SELECT pg_notify($1, $2)', [channel, payload]).catch((e) => this.log('warn', 'notify failed', { channel, err: message(e) }));
  }

  private log(level: string, msg: string, fields: Record<string, unknown>): void {
    this.options.log?.({ level, msg, ...fields });
  }
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));
