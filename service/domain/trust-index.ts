/** Moved to shared/trust-index.ts (issue 25: the client library loads no service code); re-exported for the service. */
export * from '../../shared/trust-index.js';
