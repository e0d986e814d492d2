/**
 * The one place that wires the crypto libraries. `reflect-metadata` must be evaluated before
 * @peculiar/x509 (its ASN.1 schemas use decorators), so it is imported first; ESM evaluates
 * imports in order.
 *
 * Node 20's `crypto.webcrypto` is the default provider. `setCryptoProvider` swaps it for any
 * other WebCrypto implementation (e.g. a PKCS#11-backed one) so that signing code paths stay
 * the same.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { webcrypto } from 'node:crypto';

let current: Crypto = webcrypto as unknown as Crypto;
x509.cryptoProvider.set(current);

/** The WebCrypto implementation in use. */
export function cryptoProvider(): Crypto {
  return current;
}

/** Replaces the WebCrypto implementation (for @peculiar/x509 too). */
export function setCryptoProvider(crypto: Crypto): void {
  current = crypto;
  x509.cryptoProvider.set(crypto);
}

export { x509 };
