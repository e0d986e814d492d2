/**
 * The repository being served: the newest signed version of every role. /tuf/, the change feed
 * and the static copy read it here, not from the publisher (issue 17.1). Only the publisher
 * changes it, and only after its commit has landed (tuf-js `updater.ts`: persist, then use).
 */
import type { MetadataRecord } from '../store/index.js';

/** What readers of the served repository get. */
export interface ServedView {
  latestMetadata(role: string): MetadataRecord | undefined;
  /** Every served role with its version and expiry (root, timestamp, snapshot, targets, delegated roles). */
  servedRoles(): { role: string; version: number; expires: string }[];
  /** Told whenever the served repository changes: a publish, a root publish, or a (re)load of the stored one. */
  onServedChange(listener: () => void): () => void;
}

export class Served implements ServedView {
  private latest = new Map<string, MetadataRecord>();
  private readonly listeners = new Set<() => void>();

  /** Every role's newest record, for the code that builds the next version on it. */
  get all(): ReadonlyMap<string, MetadataRecord> {
    return this.latest;
  }

  latestMetadata(role: string): MetadataRecord | undefined {
    return this.latest.get(role);
  }

  servedRoles(): { role: string; version: number; expires: string }[] {
    return [...this.latest.values()].map((m) => ({ role: m.role, version: m.version, expires: m.expires }));
  }

  /** The stored repository, read again (Publisher.load). */
  replaceAll(records: readonly MetadataRecord[]): void {
    this.latest = new Map(records.map((r) => [r.role, r]));
  }

  /** New versions of some roles, committed. */
  put(records: readonly MetadataRecord[]): void {
    for (const m of records) this.latest.set(m.role, m);
  }

  onServedChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Tells the listeners; a listener never breaks a publish. */
  changed(): void {
    for (const l of this.listeners) {
      try {
        l();
      } catch {
        // a listener never breaks a publish
      }
    }
  }
}
