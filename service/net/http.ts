/** The HTTP transport lives in shared/http.ts; the service adds its address guard (outbound.ts). */
export * from '../../shared/http.js';
