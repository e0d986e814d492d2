/**
 * The crypto boundary: the only module that imports @peculiar/x509, openpgp or webcrypto.
 * Everything it exports speaks plain data and KeyshareError codes.
 */
export { cryptoProvider, setCryptoProvider } from './provider.js';
export { MAX_MATERIAL_BYTES, decodePem, encodePem, sha256Hex, type PemBlock } from './encoding.js';
export { parseCertificate, certificateValidity, type ParsedCertificate, type CertificateValidity } from './x509.js';
export { parsePublicKey, checkCertificateKey, MIN_RSA_BITS, type ParsedPublicKey, type PublicKeyAlgorithm } from './public-key.js';
export { parsePgpPublicKey, pgpKeyring, type ParsedPgpKey } from './pgp.js';
export { detectMaterial, type MaterialKind } from './detect.js';
export {
  parseCrl,
  crlPem,
  compareCrlNumbers,
  crlTimeStatus,
  verifyCrlSignature,
  verifyCertificateSignature,
  verifySignedDer,
  MAX_CRL_BYTES,
  CrlCodes,
  type ParsedCrl,
  type CrlEntry,
  type CrlTimeStatus,
  type SignatureCheck,
} from './crl.js';
export { parseCertificateChain, validateChain, checkPath, MAX_PATH_LENGTH, type ChainResult } from './chain.js';
