import type { Grant } from '../core/index.ts';
import { decodeCloudFrontBase64, encodeCloudFrontBase64 } from '../core/index.ts';

// The two HMACs of session control (SESSION_SECRET, HMAC-SHA256), each with its own prefix so that one can never
// pass for the other: the `HlsGate-Session` cookie binds a session to the grant it travels with (its key pair ID,
// Resource and expiry: what the grant's CloudFront signature covers), and the session token (`sid.proof.mac`) binds
// a device's session to its latest proof. The CloudFront Function computes the cookie's HMAC the same way
// (cloudfront/function-source.ts): keep the two in step.

/** What of a grant the session cookie is bound to. */
export type BoundGrant = Pick<Grant, 'keyPairId' | 'resource' | 'expiresAt'>;

/** A session id and proof as the gateway mints them (16 random bytes in CloudFront's base64 alphabet). */
export const SID = /^[A-Za-z0-9~_-]{22}$/;
// An HMAC-SHA256 tag in CloudFront's base64 alphabet: 43 characters and the padding character.
export const TAG = /^[A-Za-z0-9~-]{43}_$/;

const enc = new TextEncoder();
const material = (sid: string, sub: string, grant: BoundGrant) =>
  enc.encode(`hls-gate-session-v1\n${sid}\n${sub}\n${grant.keyPairId}\n${grant.resource}\n${grant.expiresAt}`);
const tokenMaterial = (sid: string, sub: string, proof: string) =>
  enc.encode(`hls-gate-session-token-v1\n${sid}\n${sub}\n${proof}`);

export function sessionHmac(secret: string) {
  const key = crypto.subtle.importKey(
    'raw',
    enc.encode(secret) as BufferSource,
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign', 'verify'],
  );
  const sign = async (data: Uint8Array) =>
    encodeCloudFrontBase64(new Uint8Array(await crypto.subtle.sign('HMAC', await key, data as BufferSource)));
  const verify = async (tag: string, data: Uint8Array) => {
    try {
      return await crypto.subtle.verify(
        'HMAC',
        await key,
        decodeCloudFrontBase64(tag) as BufferSource,
        data as BufferSource,
      );
    } catch {
      return false;
    }
  };
  return {
    /** The `HlsGate-Session` cookie value: `sid.sub.mac`, the sub in CloudFront's base64. */
    async cookie(sid: string, sub: string, grant: BoundGrant): Promise<string> {
      return `${sid}.${encodeCloudFrontBase64(sub)}.${await sign(material(sid, sub, grant))}`;
    },
    /** Whether a cookie's tag is the gateway's for this session, viewer and grant. */
    cookieValid: (sid: string, sub: string, grant: BoundGrant, tag: string): Promise<boolean> =>
      verify(tag, material(sid, sub, grant)),
    /** The session token a device sends back on renewal: `sid.proof.mac`. */
    async token(sid: string, sub: string, proof: string): Promise<string> {
      return `${sid}.${proof}.${await sign(tokenMaterial(sid, sub, proof))}`;
    },
    /** The sid and proof of a token the gateway minted for this viewer, or null. */
    async readToken(value: string | null, sub: string): Promise<{ sid: string; proof: string } | null> {
      const [sid, proof, tag, extra] = (value ?? '').split('.', 4);
      if (extra !== undefined || !sid || !SID.test(sid) || !proof || !SID.test(proof) || !tag || !TAG.test(tag))
        return null;
      return (await verify(tag, tokenMaterial(sid, sub, proof))) ? { sid, proof } : null;
    },
  };
}
