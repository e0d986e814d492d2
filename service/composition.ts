/**
 * The composition root (STYLE.md "One composition root"; issue 22): the long-lived services that
 * the server and the HTTP app are made of, beyond the instance (service/instance.ts), built once
 * at start-up and handed to createApp through its typed deps. It is the one module of service/
 * that imports the client library sync/ (and, outside service/federation/, the one that imports
 * service/federation/): here the port federation defines (service/federation/ports.ts
 * `FederationClient`) is filled from sync/, once, and handed to the upstream manager and to the
 * bundle operations the CLI runs. test/architecture/imports.test.ts holds it so.
 */
import { readPinnedRoot } from '../sync/client/cache-root.js';
import { toFetchError } from '../sync/client/errors.js';
import { fetchTrust, normalizeServer } from '../sync/client/fetch-trust.js';
import { bearerHeader, HttpFetcher } from '../sync/client/fetcher.js';
import { openCheckpoint } from '../sync/client/log-check.js';
import { KEYSHARE_VERSION, sendReport } from '../sync/client/report.js';
import { verifyBundle } from '../sync/bundle/verify.js';
import { RegistryClient } from '../sync/oci/client.js';
import { registryCaProblem } from '../sync/oci/tls.js';
import { importBundle } from './federation/bundle/import.js';
import { importFromRegistry, pullBundle, pushBundle } from './federation/bundle/registry.js';
import type { FederationClient } from './federation/ports.js';
import { UpstreamManager, type ManagerOptions } from './federation/upstream/manager.js';
import type { Upstreams } from './federation.js';
import type { Instance } from './instance.js';

/** The client library behind federation's port: every function federation uses of sync/. */
export const federationClient: FederationClient = {
  openUpstream(http) {
    const fetcher = new HttpFetcher(http);
    return {
      read: (options) => fetchTrust({ ...options, fetcher }),
      downloadBytes: (url, maxBytes) => fetcher.downloadBytes(url, maxBytes),
    };
  },
  normalizeServer,
  readPinnedRoot,
  bearerHeader,
  toFetchError,
  clientVersion: KEYSHARE_VERSION,
  sendReport,
  verifyBundle,
  openCheckpoint,
  registryCaProblem,
  registry: (ref, options, push) => new RegistryClient(ref, options, push),
};

/** An operation of service/federation/ with the client filled in. */
const withClient =
  <O extends { client: FederationClient }, R>(run: (options: O) => Promise<R>) =>
  (options: Omit<O, 'client'>): Promise<R> =>
    run({ ...options, client: federationClient } as O);

/** The bundle operations of `keyshare bundle import|push|pull` (cli/commands/bundle.ts), wired to the client library. */
export const bundles = {
  importBundle: withClient(importBundle),
  importFromRegistry: withClient(importFromRegistry),
  pushBundle: withClient(pushBundle),
  pullBundle: withClient(pullBundle),
};

/** Upstream polling, the change feed it follows, limits (service/federation/upstream/manager.ts). */
export type UpstreamOptions = ManagerOptions;

export interface Services {
  upstreams: Upstreams;
}

export function composeServices(instance: Instance, options: { upstreams?: UpstreamOptions } = {}): Services {
  return { upstreams: new UpstreamManager(instance, federationClient, options.upstreams) };
}
