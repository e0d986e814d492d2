/**
 * How much the certificate parser costs as a certificate grows (issue 16, finding 1): the
 * measurement behind X509_LIMITS in service/crypto/x509-screen.ts. For each certificate: DER
 * size, ASN.1 elements, nesting, the bytes the parser copies (each element's contents, once per
 * enclosing level) and the CPU time of one parseCertificate (median of 15, process CPU: run it on a quiet machine). Certificates as PEM files on the
 * command line (say openssl-made ones: 500 DNS SANs, RSA 16384), plus crafted ones.
 *
 *   npx tsx bench/x509-parse-cost.ts [cert.pem ...]
 */
import { readFileSync } from 'node:fs';
import { parseCertificate } from '../service/crypto/x509.js';
import { decodePem } from '../service/crypto/encoding.js';
import { derCost } from '../service/crypto/x509-screen.js';
import { craftCertificate, nestedDer, slowCertificate } from '../test/support/x509-craft.js';

function row(name: string, der: Uint8Array): void {
  const cost = derCost(der);
  const times: number[] = [];
  let outcome = 'ok';
  // The first run warms the parser up (JIT, schemas) and is not counted.
  for (let i = 0; i < 16; i++) {
    const t = process.cpuUsage();
    try {
      parseCertificate(der);
    } catch (e) {
      outcome = (e as { code?: string }).code ?? 'error';
    }
    const d = process.cpuUsage(t);
    if (i > 0) times.push((d.user + d.system) / 1000);
  }
  times.sort((a, b) => a - b);
  const cols = [name.padEnd(34), String(der.length).padStart(7), String(cost.elements).padStart(6), String(cost.depth).padStart(3), String(cost.copied).padStart(9), times[7]!.toFixed(2).padStart(8), outcome];
  console.log(cols.join('  '));
}

/** A crafted certificate in the shape of slowCertificate: `exts` extensions of `items` 60-byte OCTET STRINGs. */
async function crafted(exts: number, items: number): Promise<Uint8Array> {
  const tlv = (tag: number, body: Buffer) => {
    const n = body.length;
    const head = n < 128 ? [n] : n < 256 ? [0x81, n] : n < 65536 ? [0x82, n >> 8, n & 255] : [0x83, n >> 16, (n >> 8) & 255, n & 255];
    return Buffer.concat([Buffer.from([tag, ...head]), body]);
  };
  const value = tlv(0x30, Buffer.concat(Array.from({ length: items }, () => tlv(0x04, Buffer.alloc(60, 7)))));
  return craftCertificate(Array.from({ length: exts }, (_, i) => ({ oid: `1.3.6.1.4.1.99999.${i}`, critical: false, value: new Uint8Array(value) })));
}

console.log(['certificate'.padEnd(34), 'bytes'.padStart(7), 'elems'.padStart(6), 'dep', 'copied'.padStart(9), 'cpu ms'.padStart(8), 'outcome'].join('  '));
for (const file of process.argv.slice(2)) {
  for (const b of decodePem(readFileSync(file, 'utf8'))) row(file.split('/').pop()!, b.der);
}
row('slowCertificate (test)', await slowCertificate(false));
for (const [exts, items] of [[1, 45], [10, 45], [30, 45], [60, 10], [60, 20], [60, 45], [20, 130], [4, 600]] as const) {
  row(`crafted ${exts} ext x ${items} items`, await crafted(exts, items));
}
const ext = (value: Uint8Array, n = 1) => craftCertificate(Array.from({ length: n }, (_, i) => ({ oid: `1.3.6.1.4.1.99999.${i}`, critical: false, value })));
row('crafted 1 ext, 180 KB opaque', await ext(new Uint8Array(180_000).fill(7)));
row('crafted 1 ext, 2000 NULLs', await ext(new Uint8Array(Buffer.concat([Buffer.from([0x30, 0x82, 4000 >> 8, 4000 & 255]), Buffer.alloc(4000).fill(Buffer.from([5, 0]))]))));
row('crafted 60 ext, nested 24', await ext(nestedDer(24), 60));
