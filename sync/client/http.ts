/** The HTTP transport lives with the service (service/net/http.ts), which also guards outbound fetches. */
export * from '../../service/net/http.js';
