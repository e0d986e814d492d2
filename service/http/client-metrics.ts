/**
 * Issue 21 on /metrics: `keyshare_clients_total` and `keyshare_clients_behind` (behind the
 * newest published version) per label set of the reporting clients. The label set is one
 * Prometheus label, `labels="env=prod,region=eu"`, and at most `metricLabelSets` of them are
 * named (service/domain/clients.ts `clientMetrics`): the rest count under `other`.
 */
import { Gauge, type Registry } from 'prom-client';
import type { Instance } from '../instance.js';
import { clientMetrics } from '../domain/clients.js';
import { listClients, type ClientLimitsConfig } from '../rollout.js';
import { latestVersion } from '../history.js';

const labelText = (labels: Record<string, string>) => Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',');

export function registerClientMetrics(registry: Registry, instance: Instance, limits: ClientLimitsConfig): void {
  const read = async () => {
    const [clients, latest] = await Promise.all([listClients(instance.records.rollout, new Date(), limits), latestVersion(instance.records.history)]);
    return clientMetrics(clients as never, latest, limits.metricLabelSets);
  };
  for (const [name, help, field] of [
    ['keyshare_clients_total', 'Reporting clients (fetch --report), per label set', 'total'],
    ['keyshare_clients_behind', 'Reporting clients whose verified version is older than the newest published one, per label set', 'behind'],
  ] as const) {
    new Gauge({
      name,
      help,
      labelNames: ['labels'] as const,
      registers: [registry],
      async collect() {
        this.reset();
        try {
          for (const s of await read()) this.labels(labelText(s.labels)).set(s[field]);
        } catch {
          // a database that is down is reported by keyshare_database_up
        }
      },
    });
  }
}
