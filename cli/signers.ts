/** Opens the signer a `--key` option names: a PKCS#8 PEM file, or a PKCS#11 URI (RFC 7512). */
import { FileSigner, type Signer } from '../service/crypto/signer.js';
import { KeyshareError } from '../service/errors.js';
import { readInputFile } from './files.js';

export type ClosableSigner = Signer & { close?(): Promise<void> | void };

export async function openKeySigner(spec: string): Promise<ClosableSigner> {
  if (spec.startsWith('pkcs11:')) {
    throw new KeyshareError('UNSUPPORTED_KEY', 'PKCS#11 keys are not supported by this build');
  }
  return new FileSigner(readInputFile(spec).toString('utf8'));
}
