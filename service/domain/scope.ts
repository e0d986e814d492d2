/** Moved to shared/scope.ts (issue 25: the client library loads no service code); re-exported for the service. */
export * from '../../shared/scope.js';
