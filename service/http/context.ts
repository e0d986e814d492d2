import type { Instance } from '../instance.js';
import type { Upstreams } from '../federation.js';
import type { TokenRole } from '../auth/tokens.js';
import type { Logger } from '../log.js';
import type { ClientView } from './client.js';

export interface Principal {
  tokenId: string;
  role: TokenRole;
  scopes: string[] | null;
}

/** Typed context variables: handlers get their dependencies here, never by import. */
export interface AppEnv {
  Variables: {
    instance: Instance;
    /** Upstream federation (service/federation.ts), when the composition root wired it. */
    upstreams: Upstreams | null;
    principal: Principal;
    /** Set by the request-context middleware: the request ID (x-request-id) and a logger bound to it. */
    requestId: string;
    log: Logger;
    /** The client's address and scheme, forwarded headers believed only from --trusted-proxy (client.ts). */
    client: ClientView;
    /** The client's address has no refusals left: a refusal is answered 429 and not audited (middleware/refusals.ts). */
    refusalLimited: boolean;
  };
}
