/**
 * RFC 3161 time-stamping on @peculiar/asn1-tsp and @peculiar/asn1-cms: parse a
 * TimeStampReq, answer a TimeStampResp whose token is a CMS SignedData over a TSTInfo.
 * The ESS signing-certificate attribute (RFC 5035), which RFC 3161 2.4.1 requires and neither
 * library defines, is declared here with @peculiar/asn1-schema.
 */
import { createPrivateKey, sign as nodeSign, type KeyObject } from 'node:crypto';
import { sha256Bytes } from '../../shared/hash.js';
import { AsnArray, AsnConvert, AsnProp, AsnPropTypes, AsnType, AsnTypeTypes, OctetString } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier, Certificate } from '@peculiar/asn1-x509';
import {
  Attribute,
  CertificateChoices,
  CertificateSet,
  CMSVersion,
  ContentInfo,
  DigestAlgorithmIdentifiers,
  EncapsulatedContent,
  EncapsulatedContentInfo,
  IssuerAndSerialNumber,
  SignedData,
  SignerIdentifier,
  SignerInfo,
  SignerInfos,
  id_signedData,
} from '@peculiar/asn1-cms';
import { Accuracy, MessageImprint, PKIStatus, PKIStatusInfo, TimeStampReq, TimeStampResp, TSTInfo, id_ct_tstInfo } from '@peculiar/asn1-tsp';
import { KeyshareError } from '../errors.js';
import { isDerSequence } from './encoding.js';

export const TsaCodes = {
  TSA_QUERY_INVALID: 'TSA_QUERY_INVALID',
  TSA_QUERY_TOO_LARGE: 'TSA_QUERY_TOO_LARGE',
  TSA_BAD_ALG: 'TSA_BAD_ALG',
  TSA_POLICY_UNSUPPORTED: 'TSA_POLICY_UNSUPPORTED',
} as const;

/** A TimeStampReq is a hash, a nonce and flags: a few hundred bytes. */
export const MAX_TSA_QUERY_BYTES = 8 * 1024;

const OID_SHA256 = '2.16.840.1.101.3.4.2.1';
const OID_ECDSA_SHA256 = '1.2.840.10045.4.3.2';
const OID_CONTENT_TYPE = '1.2.840.113549.1.9.3';
const OID_MESSAGE_DIGEST = '1.2.840.113549.1.9.4';
const OID_SIGNING_CERTIFICATE_V2 = '1.2.840.113549.1.9.16.2.47';

/** The message imprints accepted (issue 18: SHA-256/384/512), with their digest sizes. */
const IMPRINT_ALGORITHMS: Record<string, { name: string; bytes: number }> = {
  [OID_SHA256]: { name: 'SHA-256', bytes: 32 },
  '2.16.840.1.101.3.4.2.2': { name: 'SHA-384', bytes: 48 },
  '2.16.840.1.101.3.4.2.3': { name: 'SHA-512', bytes: 64 },
};

/** RFC 5035 5.4.1 ESSCertIDv2 with the default hashAlgorithm (SHA-256), so it is omitted (DER). */
class EssCertIdV2 {
  @AsnProp({ type: AsnPropTypes.OctetString })
  certHash = new ArrayBuffer(0);
  constructor(params: Partial<EssCertIdV2> = {}) {
    Object.assign(this, params);
  }
}

/** RFC 5035 5.4.1 SigningCertificateV2 (without policies). */
class SigningCertificateV2 {
  @AsnProp({ type: EssCertIdV2, repeated: 'sequence' })
  certs: EssCertIdV2[] = [];
  constructor(params: Partial<SigningCertificateV2> = {}) {
    Object.assign(this, params);
  }
}

/** RFC 5652 5.4: the signature covers the DER of the signed attributes as a SET OF. */
@AsnType({ type: AsnTypeTypes.Set, itemType: Attribute })
class AttributeSet extends AsnArray<Attribute> {}

/** An OBJECT IDENTIFIER value (the contentType attribute's value). */
@AsnType({ type: AsnTypeTypes.Choice })
class AsnTypeOid {
  @AsnProp({ type: AsnPropTypes.ObjectIdentifier })
  value: string;
  constructor(value = '') {
    this.value = value;
  }
}

export interface TimeStampQuery {
  der: Uint8Array;
  imprint: MessageImprint;
  hashAlgorithm: string;
  nonce?: ArrayBuffer;
  certReq: boolean;
}

const refuse = (code: keyof typeof TsaCodes, message: string, cause?: unknown) => new KeyshareError(TsaCodes[code], message, { cause });

/** RFC 3161 2.4.1: checks a TimeStampReq; throws a TSA_* code for anything keyshare does not grant. */
export function parseTimeStampQuery(der: Uint8Array, policy: string): TimeStampQuery {
  if (der.length > MAX_TSA_QUERY_BYTES) throw refuse(TsaCodes.TSA_QUERY_TOO_LARGE, `a time-stamp query is at most ${MAX_TSA_QUERY_BYTES} bytes`);
  if (!isDerSequence(der)) throw refuse(TsaCodes.TSA_QUERY_INVALID, 'not a DER TimeStampReq (RFC 3161 2.4.1)');
  let req: TimeStampReq;
  try {
    req = AsnConvert.parse(der, TimeStampReq);
  } catch (e) {
    throw refuse(TsaCodes.TSA_QUERY_INVALID, 'not a DER TimeStampReq (RFC 3161 2.4.1)', e);
  }
  if (req.version !== 1) throw refuse(TsaCodes.TSA_QUERY_INVALID, `TimeStampReq version ${req.version} is not 1`);
  const alg = IMPRINT_ALGORITHMS[req.messageImprint.hashAlgorithm.algorithm];
  if (!alg) throw refuse(TsaCodes.TSA_BAD_ALG, `the message imprint is hashed with ${req.messageImprint.hashAlgorithm.algorithm}: use SHA-256, SHA-384 or SHA-512`);
  if (req.messageImprint.hashedMessage.byteLength !== alg.bytes) {
    throw refuse(TsaCodes.TSA_QUERY_INVALID, `a ${alg.name} message imprint is ${alg.bytes} bytes, not ${req.messageImprint.hashedMessage.byteLength}`);
  }
  if (req.reqPolicy !== undefined && req.reqPolicy !== policy) throw refuse(TsaCodes.TSA_POLICY_UNSUPPORTED, `this TSA time-stamps under policy ${policy} only, not ${req.reqPolicy}`);
  if (req.extensions?.length) throw refuse(TsaCodes.TSA_QUERY_INVALID, 'this TSA accepts no request extensions (RFC 3161 2.4.1)');
  if (req.nonce !== undefined && req.nonce.byteLength > 64) throw refuse(TsaCodes.TSA_QUERY_INVALID, 'a nonce is at most 64 bytes');
  return { der, imprint: req.messageImprint, hashAlgorithm: alg.name, nonce: req.nonce, certReq: req.certReq };
}

export interface TsaSigner {
  /** ECDSA P-256 private key of the TSA certificate. */
  key: KeyObject;
  certDer: Uint8Array;
  policy: string;
  /** The certificate parsed once, and its RFC 5035 ESSCertIDv2 hash. */
  cert?: Certificate;
  certHash?: ArrayBuffer;
}

/** The TSA's signer from its PKCS#8 PEM key and certificate. */
export function loadTsaSigner(keyPem: string, certDer: Uint8Array, policy: string): TsaSigner {
  return { key: createPrivateKey(keyPem), certDer, policy, cert: AsnConvert.parse(certDer, Certificate), certHash: new Uint8Array(sha256(certDer)).buffer };
}

const sha256 = (b: Uint8Array | ArrayBuffer) => sha256Bytes(new Uint8Array(b));

/** RFC 3161 2.4.2: a granted TimeStampResp for `query`, signed now (genTime to the second). */
export function timeStampResponse(query: TimeStampQuery, signer: TsaSigner, serialHex: string, now: Date): Uint8Array {
  const genTime = new Date(Math.floor(now.getTime() / 1000) * 1000);
  const tstInfo = new TSTInfo({
    version: 1,
    policy: signer.policy,
    messageImprint: query.imprint,
    serialNumber: new Uint8Array(Buffer.from(serialHex, 'hex')).buffer,
    genTime,
    accuracy: new Accuracy({ seconds: 1 }),
    ordering: false,
    ...(query.nonce !== undefined ? { nonce: query.nonce } : {}),
  });
  const content = AsnConvert.serialize(tstInfo);
  const cert = signer.cert ?? AsnConvert.parse(signer.certDer, Certificate);
  const attr = (type: string, value: ArrayBuffer) => new Attribute({ attrType: type, attrValues: [value] });
  const attrs = [
    attr(OID_CONTENT_TYPE, AsnConvert.serialize(new AsnTypeOid(id_ct_tstInfo))),
    attr(OID_MESSAGE_DIGEST, AsnConvert.serialize(new OctetString(sha256(content)))),
    attr(OID_SIGNING_CERTIFICATE_V2, AsnConvert.serialize(new SigningCertificateV2({ certs: [new EssCertIdV2({ certHash: signer.certHash ?? new Uint8Array(sha256(signer.certDer)).buffer })] }))),
  ];
  // DER SET OF: elements in ascending order of their encodings (X.690 11.6).
  const encoded = attrs.map((a) => ({ a, der: Buffer.from(AsnConvert.serialize(a)) })).sort((x, y) => Buffer.compare(x.der, y.der));
  const signedAttrs = encoded.map((e) => e.a);
  const signature = nodeSign('sha256', new Uint8Array(AsnConvert.serialize(new AttributeSet(signedAttrs))), signer.key);
  const signedData = new SignedData({
    version: CMSVersion.v3,
    digestAlgorithms: new DigestAlgorithmIdentifiers([new AlgorithmIdentifier({ algorithm: OID_SHA256 })]),
    encapContentInfo: new EncapsulatedContentInfo({ eContentType: id_ct_tstInfo, eContent: new EncapsulatedContent({ single: new OctetString(content) }) }),
    ...(query.certReq ? { certificates: new CertificateSet([new CertificateChoices({ certificate: cert })]) } : {}),
    signerInfos: new SignerInfos([
      new SignerInfo({
        version: CMSVersion.v1,
        sid: new SignerIdentifier({ issuerAndSerialNumber: new IssuerAndSerialNumber({ issuer: cert.tbsCertificate.issuer, serialNumber: cert.tbsCertificate.serialNumber }) }),
        digestAlgorithm: new AlgorithmIdentifier({ algorithm: OID_SHA256 }),
        signedAttrs,
        signatureAlgorithm: new AlgorithmIdentifier({ algorithm: OID_ECDSA_SHA256 }),
        signature: new OctetString(signature),
      }),
    ]),
  });
  const token = new ContentInfo({ contentType: id_signedData, content: AsnConvert.serialize(signedData) });
  const resp = new TimeStampResp({ status: new PKIStatusInfo({ status: PKIStatus.granted }), timeStampToken: token });
  return new Uint8Array(AsnConvert.serialize(resp));
}

