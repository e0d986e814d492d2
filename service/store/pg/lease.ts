/**
 * The publisher lease for replicas that share one PostgreSQL database (issue 11;
 * docs/DEPLOYMENT.md, "Replicas with PostgreSQL"). `serve` takes it through
 * service/replication.ts, which lets only its holder publish.
 *
 * Exactly one replica publishes: the one holding a session-level advisory lock
 * (`pg_try_advisory_lock`) on a dedicated connection. The others try again every `retryMs`.
 * When the holder dies (crash, SIGKILL, lost machine), PostgreSQL ends its session and with it
 * the lock, and the next try of another replica takes over: within `retryMs` once the server
 * notices (at once for a closed socket; for a silent peer, after the server's TCP keepalives).
 *
 * The lease is for liveness only. Safety does not depend on it: a publish commits only if the
 * stored timestamp is still the version it built on (CONFLICT otherwise), and (role, version)
 * is the metadata table's primary key, so two publishers at once can never store two different
 * versions with the same number.
 */
import { sha256Bytes } from '../../../shared/hash.js';
import pg from 'pg';

export interface LeaseOptions {
  url: string;
  /** The lock's name; the advisory lock key is derived from it. */
  name?: string;
  /** How often a follower tries to take the lock, and a leader checks its session (default 2 s). */
  retryMs?: number;
  /** Told when this process becomes, or stops being, the leader. */
  onChange?: (leader: boolean) => void;
  onError?: (error: unknown) => void;
  /**
   * Whether this process may lead (default: always). Issue 24 row 4: a replica that cannot sign
   * does not take the lock, and a leader that can no longer sign releases it, so another takes over.
   */
  eligible?: () => boolean;
}

/** A signed 64-bit advisory lock key from a name (the first 8 bytes of its SHA-256). */
export function advisoryKey(name: string): string {
  return sha256Bytes(name).readBigInt64BE(0).toString();
}

export class PublisherLease {
  private client: pg.Client | null = null;
  private leader = false;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = true;
  private readonly key: string;
  private readonly retryMs: number;
  /** Tries so far (tests wait on it instead of on time). */
  attempts = 0;

  constructor(private readonly options: LeaseOptions) {
    this.key = advisoryKey(options.name ?? 'keyshare-publisher');
    this.retryMs = options.retryMs ?? 2_000;
  }

  isLeader(): boolean {
    return this.leader;
  }

  /** Starts trying (no I/O before this); resolves after the first try, so that a lone replica leads before it serves. */
  start(): Promise<void> {
    if (!this.stopped) return Promise.resolve();
    this.stopped = false;
    this.tick();
    return this.running ?? Promise.resolve();
  }

  /** Releases the lock (if held) and closes the connection. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
    const client = this.client;
    this.client = null;
    if (client) {
      if (this.leader) await client.query('SELECT pg_advisory_unlock($1)', [this.key]).catch(() => {});
      await client.end().catch(() => {});
    }
    this.setLeader(false);
  }

  private tick(): void {
    if (this.stopped) return;
    this.running = this.attempt().finally(() => {
      this.running = null;
      if (!this.stopped) {
        this.timer = setTimeout(() => this.tick(), this.retryMs);
        this.timer.unref();
      }
    });
  }

  private async attempt(): Promise<void> {
    this.attempts++;
    try {
      const client = this.client ?? (await this.connect());
      const eligible = this.options.eligible?.() ?? true;
      if (this.leader && !eligible) {
        await client.query('SELECT pg_advisory_unlock($1)', [this.key]);
        this.setLeader(false);
      } else if (!eligible) {
        // not a candidate: another replica publishes
      } else if (this.leader) {
        // The lock lives as long as the session: a query that answers means we still hold it.
        await client.query('SELECT 1');
      } else {
        const r = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [this.key]);
        if (r.rows[0]?.ok) this.setLeader(true);
      }
    } catch (e) {
      this.drop(e);
    }
  }

  private async connect(): Promise<pg.Client> {
    const client = new pg.Client({
      connectionString: this.options.url,
      application_name: 'keyshare-publisher-lease',
      keepAlive: true,
      keepAliveInitialDelayMillis: 1_000,
      // A query that hangs (a silent network) counts as a lost session.
      query_timeout: Math.max(this.retryMs * 2, 2_000),
      connectionTimeoutMillis: Math.max(this.retryMs * 2, 2_000),
    });
    client.on('error', (e) => this.drop(e, client));
    client.on('end', () => this.drop(new Error('connection ended'), client));
    await client.connect();
    this.client = client;
    return client;
  }

  /** The session is gone or in doubt: we are not the leader, and the next try reconnects. */
  private drop(error: unknown, which?: pg.Client): void {
    if (which && which !== this.client) {
      // An old session's late event: only make sure it is closed.
      which.end().catch(() => {});
      return;
    }
    const client = this.client;
    this.client = null;
    client?.end().catch(() => {});
    if (!this.stopped) this.options.onError?.(error);
    this.setLeader(false);
  }

  private setLeader(leader: boolean): void {
    if (this.leader === leader) return;
    this.leader = leader;
    this.options.onChange?.(leader);
  }
}
