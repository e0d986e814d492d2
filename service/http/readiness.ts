/** The body of /readyz (issue 24): service/health.ts decides; this gathers what it needs. */
import type { Instance } from '../instance.js';
import { evaluateHealth, probeDatabase, type HealthWarning } from '../health.js';

export interface Readiness {
  status: 'ready' | 'not ready';
  timestampVersion: number | null;
  publisher: boolean;
  database: 'up' | 'down';
  reasons: string[];
  warnings: HealthWarning[];
  publishing: { lastSuccessAt: string | null; lastError: { code: string; message: string } | null; pendingChanges: number | null };
}

export async function readinessOf(instance: Instance): Promise<Readiness> {
  const { publisher, records } = instance;
  const now = (instance.clock ?? (() => new Date()))();
  const database = await probeDatabase(records.changes);
  const health = evaluateHealth({ now, roles: publisher.servedRoles(), database, staleKeys: publisher.staleKeyRoles(), storeCheck: instance.storeCheck ?? null });
  // Committed changes not yet published (the CLI waits for none to be left; issue 24 row 9).
  const pendingChanges = database === 'up' ? await records.changes.listDirty().then((d) => d.length, () => null) : null;
  const { lastSuccessAt, lastError } = publisher.publishHealth();
  return {
    status: health.ready ? 'ready' : 'not ready',
    timestampVersion: publisher.latestMetadata('timestamp')?.version ?? null,
    publisher: publisher.leads(),
    database,
    reasons: health.reasons,
    warnings: health.warnings,
    publishing: { lastSuccessAt: lastSuccessAt?.toISOString() ?? null, lastError, pendingChanges },
  };
}
