/**
 * A registry's CA file (`--ca`, for `bundle push|pull|import` and `upstream add --url oci://`):
 * PEM certificates that replace the system CAs for that registry's TLS. Checked when given, so
 * that a wrong file is refused at once rather than at the first TLS handshake (for an upstream,
 * at a poll nobody watches). Size-capped, and each certificate screened before it is parsed
 * (service/crypto/x509-screen.ts).
 */
import { X509Certificate } from 'node:crypto';
import { screenCertificateDer } from '../../service/crypto/x509-screen.js';

export const MAX_CA_PEM_BYTES = 256 * 1024;
const MAX_CA_CERTIFICATES = 32;
const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/g;

/** Why `pem` is not a usable CA file, or null when it is. */
export function registryCaProblem(pem: string | Buffer): string | null {
  if (pem.length > MAX_CA_PEM_BYTES) return `it is over ${MAX_CA_PEM_BYTES} bytes`;
  const blocks = [...pem.toString('latin1').matchAll(PEM_CERTIFICATE)];
  if (blocks.length === 0) return 'it holds no PEM certificate (-----BEGIN CERTIFICATE-----)';
  if (blocks.length > MAX_CA_CERTIFICATES) return `it holds over ${MAX_CA_CERTIFICATES} certificates`;
  for (const [i, b] of blocks.entries()) {
    try {
      const der = Buffer.from(b[1]!.replace(/\s+/g, ''), 'base64');
      screenCertificateDer(der);
      new X509Certificate(der);
    } catch (e) {
      return `certificate ${i + 1} does not parse: ${(e as Error).message}`;
    }
  }
  return null;
}
