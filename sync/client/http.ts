/** The HTTP transport lives in shared/http.ts (the client library loads no service code). */
export * from '../../shared/http.js';
