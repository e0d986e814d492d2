/**
 * The check library: the decision `keyshare check` makes, for admission controllers and other
 * verifiers. Fetch the trust with sync/client `fetchTrust` (with `crls: true`), then decide.
 */
export {
  decideCheck,
  CheckCodes,
  SIGNING_ANCHOR_TYPES,
  type CheckCode,
  type CheckRequest,
  type CheckDecision,
  type CheckEvidence,
  type CertificateEvidence,
  type RevocationEvidence,
  type CrlEvidence,
} from './decide.js';
