/**
 * One table from error codes to HTTP statuses (STYLE.md "Errors"). Anything unlisted is a 400.
 * Keys are the code tables' constants, typed as the service's code union: a misspelt or
 * unknown code fails to compile (issue 22).
 */
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { Codes, CaCodes } from '../errors.js';
import { TokenCodes } from '../auth/token-service.js';
import { CeremonyCodes } from '../repo/ceremony.js';
import { TenantCodes } from '../repo/tenants.js';
import { PendingCodes } from '../repo/tenant-pending.js';
import { FederationCodes } from '../domain/federation.js';
import { HistoryCodes } from '../domain/history.js';
import { ClientCodes } from '../domain/clients.js';
import { CaCryptoCodes } from '../crypto/ca.js';
import { TsaCodes } from '../crypto/tsa.js';

type CodeOf<T> = T[keyof T];
/** Every code the admin API answers with a status other than 400. */
export type ServiceCode =
  | CodeOf<typeof Codes>
  | CodeOf<typeof CaCodes>
  | CodeOf<typeof TokenCodes>
  | CodeOf<typeof CeremonyCodes>
  | CodeOf<typeof TenantCodes>
  | CodeOf<typeof PendingCodes>
  | CodeOf<typeof FederationCodes>
  | CodeOf<typeof HistoryCodes>
  | CodeOf<typeof ClientCodes>
  | CodeOf<typeof CaCryptoCodes>
  | CodeOf<typeof TsaCodes>;

const STATUS: Partial<Record<ServiceCode, ContentfulStatusCode>> = {
  [Codes.UNAUTHORIZED]: 401,
  [Codes.FORBIDDEN]: 403,
  [Codes.NOT_FOUND]: 404,
  [Codes.SCOPE_NOT_FOUND]: 404,
  [Codes.ANCHOR_NOT_FOUND]: 404,
  [Codes.SCOPE_EXISTS]: 409,
  [Codes.ANCHOR_EXISTS]: 409,
  [Codes.CONFLICT]: 409,
  [TokenCodes.TOKEN_NOT_FOUND]: 404,
  [TokenCodes.LAST_ADMIN_TOKEN]: 409,
  [CeremonyCodes.NO_PROPOSAL]: 404,
  [CeremonyCodes.PROPOSAL_PENDING]: 409,
  [CeremonyCodes.PROPOSAL_STALE]: 409,
  [Codes.BODY_TOO_LARGE]: 413,
  [Codes.RATE_LIMITED]: 429,
  [Codes.CRL_TOO_LARGE]: 413,
  [Codes.ROLLBACK]: 409,
  // Upstreams and federation (service/federation/upstream, service/domain/federation.ts).
  [FederationCodes.UPSTREAM_NOT_FOUND]: 404,
  [FederationCodes.UPSTREAM_EXISTS]: 409,
  [FederationCodes.SCOPE_FEDERATED]: 409,
  [FederationCodes.ANCHOR_FEDERATED]: 409,
  // Tenants (service/repo/tenants.ts, tenant-pending.ts).
  [TenantCodes.TENANT_NOT_FOUND]: 404,
  [TenantCodes.TENANT_EXISTS]: 409,
  [PendingCodes.NOTHING_TO_SIGN]: 404,
  [PendingCodes.STALE_SIGNING_REQUEST]: 409,
  [Codes.NOT_INITIALIZED]: 503,
  [Codes.NOT_PUBLISHER]: 503,
  [Codes.ONLINE_KEY_MISSING]: 503,
  [Codes.DATABASE_UNAVAILABLE]: 503,
  [Codes.SHUTTING_DOWN]: 503,
  [Codes.STORE_DAMAGED]: 503,
  // RFC 4918 11.5 Insufficient Storage.
  [Codes.STORAGE_FULL]: 507,
  [Codes.INTERNAL]: 500,
  // Signing authorities and the TSA (service/ca, issue 18).
  [CaCodes.CA_NOT_FOUND]: 404,
  [CaCodes.CA_EXISTS]: 409,
  [CaCodes.CA_KEY_UNAVAILABLE]: 503,
  [CaCodes.TSA_UNAVAILABLE]: 503,
  [CaCryptoCodes.CSR_TOO_LARGE]: 413,
  [TsaCodes.TSA_QUERY_TOO_LARGE]: 413,
  // Issue 21 (service/domain/history.ts, clients.ts).
  [HistoryCodes.VERSION_UNKNOWN]: 404,
  [ClientCodes.CLIENTS_FULL]: 429,
};

export function statusFor(code: string): ContentfulStatusCode {
  return STATUS[code as ServiceCode] ?? 400;
}
