import { readFileSync } from 'node:fs';
import { KeyshareError } from '../service/errors.js';
import { CliCodes } from './errors.js';

/** Reads a file given on the command line, with a coded error instead of a stack trace. */
export function readInputFile(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new KeyshareError(CliCodes.FILE_NOT_READABLE, `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** Key and certificate material for the API: PEM / armored text as is, binary (DER, OpenPGP) as base64. */
export function materialForApi(bytes: Buffer): { value: string; encoding: 'text' | 'base64' } {
  const text = bytes.toString('utf8');
  return /^\s*-----BEGIN [A-Z0-9 ]+-----/.test(text) ? { value: text, encoding: 'text' } : { value: bytes.toString('base64'), encoding: 'base64' };
}
