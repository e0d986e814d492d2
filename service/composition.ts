/**
 * The composition root (STYLE.md "One composition root"; issue 22): the long-lived services that
 * the server and the HTTP app are made of, beyond the instance (service/instance.ts), built once
 * at start-up and handed to createApp through its typed deps. This is the one module of
 * service/ outside service/federation/ that imports it (and so, through it, the client library
 * sync/): the server side of federation is wired here, behind the port the service defines
 * (service/federation.ts). test/architecture/imports.test.ts holds it so.
 */
import { UpstreamManager, type ManagerOptions } from './federation/upstream/manager.js';
import type { Upstreams } from './federation.js';
import type { Instance } from './instance.js';

/** Upstream polling, the change feed it follows, limits (service/federation/upstream/manager.ts). */
export type UpstreamOptions = ManagerOptions;

export interface Services {
  upstreams: Upstreams;
}

export function composeServices(instance: Instance, options: { upstreams?: UpstreamOptions } = {}): Services {
  return { upstreams: new UpstreamManager(instance, options.upstreams) };
}
