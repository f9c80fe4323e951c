import { TAG, concat, encodeTlv, readChildren, readTlv } from './der.ts';

// CloudFront carries ECDSA signatures as ASN.1 DER SEQUENCE { INTEGER r, INTEGER s } (RFC 3279 section 2.2.3);
// WebCrypto signs and verifies the fixed-width r||s form (IEEE P1363). These convert between the two.

const P256_SIZE = 32;

function integerBytes(n: Uint8Array): Uint8Array {
  let start = 0;
  while (start < n.length - 1 && n[start] === 0) start++;
  const trimmed = n.subarray(start);
  // A leading 1 bit would make the INTEGER negative: prefix a zero byte.
  return trimmed[0]! & 0x80 ? concat(new Uint8Array([0]), trimmed) : trimmed;
}

export function p1363ToDer(signature: Uint8Array): Uint8Array {
  const half = signature.length / 2;
  const r = encodeTlv(TAG.INTEGER, integerBytes(signature.subarray(0, half)));
  const s = encodeTlv(TAG.INTEGER, integerBytes(signature.subarray(half)));
  return encodeTlv(TAG.SEQUENCE, concat(r, s));
}

/** Strict DER -> r||s for P-256; null for anything malformed, non-minimal, negative or oversized. */
export function derToP1363(der: Uint8Array, size = P256_SIZE): Uint8Array | null {
  const seq = readTlv(der);
  if (!seq || seq.tag !== TAG.SEQUENCE || seq.size !== der.length) return null;
  const parts = readChildren(seq.value);
  if (!parts || parts.length !== 2) return null;
  const out = new Uint8Array(size * 2);
  for (let i = 0; i < 2; i++) {
    const part = parts[i]!;
    if (part.tag !== TAG.INTEGER || part.value.length === 0) return null;
    let v = part.value;
    if (v[0]! & 0x80) return null; // negative
    if (v.length > 1 && v[0] === 0 && !(v[1]! & 0x80)) return null; // non-minimal
    if (v[0] === 0 && v.length > 1) v = v.subarray(1);
    if (v.length > size) return null;
    out.set(v, i * size + (size - v.length));
  }
  return out;
}
