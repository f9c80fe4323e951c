import { CoreError } from './errors.ts';
import { TAG, concat, encodeTlv, fromHex, hex, readChildren, readTlv } from './der.ts';
import { base64ToBytes } from './base64.ts';

// Recognises the PEM forms people actually have and normalises them to what WebCrypto imports:
// PKCS#8 for private keys, SPKI for public keys. RFC 7468 (PEM), RFC 8017 A.1 (PKCS#1),
// RFC 5208 (PKCS#8), RFC 5915 (SEC1 EC keys), RFC 5480 (SPKI for EC).

const OID = {
  rsaEncryption: '2a864886f70d010101',
  rsaPss: '2a864886f70d01010a',
  ecPublicKey: '2a8648ce3d0201',
  prime256v1: '2a8648ce3d030107',
  dsa: '2a8648ce380401',
  ed25519: '2b6570',
  ed448: '2b6571',
} as const;

const FIX_ENCRYPTED =
  'the private key is encrypted; decrypt it first: openssl pkcs8 -topk8 -nocrypt -in key.pem -out key-plain.pem';

export type KeyAlgorithm = 'rsa' | 'ecdsa';
export interface NormalisedKey {
  algorithm: KeyAlgorithm;
  /** PKCS#8 (private) or SPKI (public) DER. */
  der: Uint8Array;
}

interface PemBlock {
  label: string;
  headers: string;
  der: Uint8Array;
}

function pemBlocks(text: string): PemBlock[] {
  const re = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;
  const out: PemBlock[] = [];
  for (const m of text.matchAll(re)) {
    // RFC 1421 headers ("Proc-Type: ...") are lines with a colon; the rest is base64.
    const lines = m[2]!.split(/\r?\n/);
    const headers = lines.filter((l) => l.includes(':')).join('\n');
    const b64 = lines
      .filter((l) => !l.includes(':'))
      .join('')
      .replace(/\s+/g, '');
    let der: Uint8Array;
    try {
      der = base64ToBytes(b64);
    } catch {
      throw new CoreError('ERR_KEY_MALFORMED', `the PEM block "${m[1]}" is not valid base64`);
    }
    out.push({ label: m[1]!, headers, der });
  }
  return out;
}

function seq(...parts: Uint8Array[]): Uint8Array {
  return encodeTlv(TAG.SEQUENCE, concat(...parts));
}
const oid = (h: string) => encodeTlv(TAG.OID, fromHex(h));
const NULL = new Uint8Array([TAG.NULL, 0]);
const INT0 = new Uint8Array([TAG.INTEGER, 1, 0]);

function children(der: Uint8Array, what: string): ReturnType<typeof readChildren> & object {
  const top = readTlv(der);
  const kids = top && top.tag === TAG.SEQUENCE && top.size === der.length ? readChildren(top.value) : null;
  if (!kids) throw new CoreError('ERR_KEY_MALFORMED', `the ${what} is not valid DER`);
  return kids;
}

/** AlgorithmIdentifier -> our algorithm, refusing everything CloudFront cannot use. */
function algorithmOf(algId: Uint8Array, what: string): KeyAlgorithm {
  const parts = readChildren(algId);
  const algOid = parts?.[0];
  if (!algOid || algOid.tag !== TAG.OID) throw new CoreError('ERR_KEY_MALFORMED', `the ${what} has no algorithm`);
  const id = hex(algOid.value);
  if (id === OID.rsaEncryption) return 'rsa';
  if (id === OID.ecPublicKey) {
    const curve = parts?.[1];
    if (!curve || curve.tag !== TAG.OID || hex(curve.value) !== OID.prime256v1) {
      throw new CoreError(
        'ERR_KEY_CURVE',
        'only the P-256 (prime256v1) curve is supported by CloudFront; make one with: openssl ecparam -name prime256v1 -genkey -noout | openssl pkcs8 -topk8 -nocrypt',
      );
    }
    return 'ecdsa';
  }
  if (id === OID.dsa) throw dsaUnsupported();
  const name = id === OID.rsaPss ? 'RSA-PSS' : id === OID.ed25519 ? 'Ed25519' : id === OID.ed448 ? 'Ed448' : 'this';
  throw new CoreError(
    'ERR_KEY_UNSUPPORTED',
    `${name} keys are not supported by CloudFront; use RSA-2048 (PKCS#1 v1.5) or ECDSA P-256`,
  );
}

function dsaUnsupported(): CoreError {
  return new CoreError(
    'ERR_KEY_UNSUPPORTED',
    'DSA keys are not supported by CloudFront; use RSA-2048 (openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048) or ECDSA P-256',
  );
}

function fromPkcs8(der: Uint8Array): NormalisedKey {
  const kids = children(der, 'PKCS#8 private key');
  if (kids.length < 3 || kids[1]!.tag !== TAG.SEQUENCE)
    throw new CoreError('ERR_KEY_MALFORMED', 'the PKCS#8 private key is not valid');
  return { algorithm: algorithmOf(kids[1]!.value, 'PKCS#8 private key'), der };
}

function fromSpki(der: Uint8Array): NormalisedKey {
  const kids = children(der, 'public key');
  if (kids.length !== 2 || kids[0]!.tag !== TAG.SEQUENCE)
    throw new CoreError('ERR_KEY_MALFORMED', 'the public key is not valid SPKI');
  return { algorithm: algorithmOf(kids[0]!.value, 'public key'), der };
}

/** SEC1 `EC PRIVATE KEY` -> PKCS#8, checking the curve named inside it. */
function fromSec1(der: Uint8Array): NormalisedKey {
  const kids = children(der, 'EC private key');
  const params = kids.find((k) => k.tag === 0xa0);
  const curve = params ? readTlv(params.value) : null;
  if (curve && (curve.tag !== TAG.OID || hex(curve.value) !== OID.prime256v1)) {
    algorithmOf(concat(oid(OID.ecPublicKey), encodeTlv(TAG.OID, curve.value)), 'EC private key'); // throws ERR_KEY_CURVE
  }
  const algId = seq(oid(OID.ecPublicKey), oid(OID.prime256v1));
  return { algorithm: 'ecdsa', der: seq(INT0, algId, encodeTlv(TAG.OCTET_STRING, der)) };
}

export function normalisePrivateKeyPem(pem: string): NormalisedKey {
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----/.test(pem) || /Proc-Type:\s*4,ENCRYPTED/.test(pem)) {
    throw new CoreError('ERR_KEY_ENCRYPTED', FIX_ENCRYPTED);
  }
  const blocks = pemBlocks(pem).filter((b) => b.label !== 'EC PARAMETERS');
  if (blocks.length === 0) {
    throw new CoreError(
      'ERR_KEY_MALFORMED',
      'no PEM private key found (expected "-----BEGIN PRIVATE KEY-----", "RSA PRIVATE KEY" or "EC PRIVATE KEY")',
    );
  }
  const block = blocks[0]!;
  switch (block.label) {
    case 'PRIVATE KEY':
      return fromPkcs8(block.der);
    case 'RSA PRIVATE KEY': {
      children(block.der, 'PKCS#1 RSA private key');
      const algId = seq(oid(OID.rsaEncryption), NULL);
      return { algorithm: 'rsa', der: seq(INT0, algId, encodeTlv(TAG.OCTET_STRING, block.der)) };
    }
    case 'EC PRIVATE KEY':
      return fromSec1(block.der);
    case 'DSA PRIVATE KEY':
      throw dsaUnsupported();
    case 'PUBLIC KEY':
    case 'RSA PUBLIC KEY':
      throw new CoreError('ERR_KEY_MALFORMED', 'this is a public key; signing needs the private key (private_key.pem)');
    default:
      throw new CoreError(
        'ERR_KEY_UNSUPPORTED',
        `unsupported PEM block "${block.label}"; expected a PKCS#8, PKCS#1 or SEC1 private key`,
      );
  }
}

export function normalisePublicKeyPem(pem: string): NormalisedKey {
  const blocks = pemBlocks(pem);
  const block = blocks.find((b) => b.label === 'PUBLIC KEY' || b.label === 'RSA PUBLIC KEY');
  if (!block) {
    if (blocks.some((b) => b.label.includes('PRIVATE'))) {
      throw new CoreError(
        'ERR_KEY_MALFORMED',
        'this is a private key; the verifier needs only the public key (openssl pkey -in private_key.pem -pubout)',
      );
    }
    throw new CoreError(
      'ERR_KEY_MALFORMED',
      'no PEM public key found (expected "-----BEGIN PUBLIC KEY-----" or "RSA PUBLIC KEY")',
    );
  }
  if (block.label === 'RSA PUBLIC KEY') {
    children(block.der, 'PKCS#1 RSA public key');
    const algId = seq(oid(OID.rsaEncryption), NULL);
    const bits = encodeTlv(TAG.BIT_STRING, concat(new Uint8Array([0]), block.der));
    return { algorithm: 'rsa', der: seq(algId, bits) };
  }
  return fromSpki(block.der);
}

export function derToPem(der: Uint8Array, label: string, toBase64: (b: Uint8Array) => string): string {
  const b64 = toBase64(der);
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
