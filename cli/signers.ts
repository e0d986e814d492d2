/** Opens the signer a `--key` option names: a PKCS#8 PEM file, or a PKCS#11 URI (RFC 7512). */
import { FileSigner, publicKeyPem, type Signer } from '../service/crypto/signer.js';
import { Pkcs11Signer, isPkcs11Uri } from '../service/crypto/pkcs11.js';
import { readInputFile } from './files.js';

export type ClosableSigner = Signer & { close?(): Promise<void> | void };

export async function openKeySigner(spec: string): Promise<ClosableSigner> {
  if (isPkcs11Uri(spec)) return Pkcs11Signer.open(spec);
  return new FileSigner(readInputFile(spec).toString('utf8'));
}

/** The SPKI PEM public key of a key file (public or private PEM) or of a key in a PKCS#11 token. */
export async function publicKeyPemOf(spec: string): Promise<string> {
  if (!isPkcs11Uri(spec)) return publicKeyPem(readInputFile(spec).toString('utf8'));
  const signer = Pkcs11Signer.open(spec);
  try {
    return signer.publicKeyPem;
  } finally {
    signer.close();
  }
}
