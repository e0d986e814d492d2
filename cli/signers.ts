/** Opens the signer a `--key` option names: a PKCS#8 PEM file, or a PKCS#11 URI (RFC 7512). */
import { FileSigner, type Signer } from '../service/crypto/signer.js';
import { Pkcs11Signer, isPkcs11Uri } from '../service/crypto/pkcs11.js';
import { readInputFile } from './files.js';

export type ClosableSigner = Signer & { close?(): Promise<void> | void };

export async function openKeySigner(spec: string): Promise<ClosableSigner> {
  if (isPkcs11Uri(spec)) return Pkcs11Signer.open(spec);
  return new FileSigner(readInputFile(spec).toString('utf8'));
}
