// A minimal ASN.1 DER reader/writer: just enough to recognise key containers (PKCS#1, PKCS#8, SEC1, SPKI)
// and to convert ECDSA signatures. https://www.itu.int/rec/T-REC-X.690 (DER rules, section 10)

export interface Tlv {
  tag: number;
  /** The value bytes (without tag and length). */
  value: Uint8Array;
  /** Total encoded length including tag and length bytes. */
  size: number;
}

/** Reads one TLV at `offset`, strictly (definite, minimal lengths). Returns null on any malformation. */
export function readTlv(bytes: Uint8Array, offset = 0): Tlv | null {
  if (offset + 2 > bytes.length) return null;
  const tag = bytes[offset]!;
  let length = bytes[offset + 1]!;
  let header = 2;
  if (length & 0x80) {
    const n = length & 0x7f;
    if (n === 0 || n > 4 || offset + 2 + n > bytes.length) return null;
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + bytes[offset + 2 + i]!;
    if (length < 0x80 || bytes[offset + 2] === 0) return null; // non-minimal length
    header += n;
  }
  if (offset + header + length > bytes.length) return null;
  return { tag, value: bytes.subarray(offset + header, offset + header + length), size: header + length };
}

/** Reads all TLVs that make up a constructed value; null if they do not tile it exactly. */
export function readChildren(value: Uint8Array): Tlv[] | null {
  const out: Tlv[] = [];
  let offset = 0;
  while (offset < value.length) {
    const tlv = readTlv(value, offset);
    if (!tlv) return null;
    out.push(tlv);
    offset += tlv.size;
  }
  return out;
}

export function encodeTlv(tag: number, value: Uint8Array): Uint8Array {
  const len = value.length;
  let header: number[];
  if (len < 0x80) header = [tag, len];
  else if (len < 0x100) header = [tag, 0x81, len];
  else if (len < 0x10000) header = [tag, 0x82, len >> 8, len & 0xff];
  else header = [tag, 0x83, len >> 16, (len >> 8) & 0xff, len & 0xff];
  const out = new Uint8Array(header.length + len);
  out.set(header, 0);
  out.set(value, header.length);
  return out;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

export const TAG = {
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  SEQUENCE: 0x30,
} as const;

export function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function fromHex(text: string): Uint8Array {
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(i * 2, i * 2 + 2), 16);
  return out;
}
