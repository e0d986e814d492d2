import type { Instance } from '../instance.js';
import type { TokenRole } from '../auth/tokens.js';
import type { Logger } from '../log.js';

export interface Principal {
  tokenId: string;
  role: TokenRole;
  scopes: string[] | null;
}

/** Typed context variables: handlers get their dependencies here, never by import. */
export interface AppEnv {
  Variables: {
    instance: Instance;
    principal: Principal;
    /** Set by the request-context middleware: the request ID (x-request-id) and a logger bound to it. */
    requestId: string;
    log: Logger;
  };
}
