import type { UploadResult, UploadSink, UploadStatus } from '../app/storage.ts';
import { UploadError } from '../app/upload-guard.ts';

// Uploaded sources on Workers: R2 keys `.uploads/<id>/source` (never served: no video ID starts with "."). R2 checks
// the body against the SHA-256 given to put() and stores nothing when it differs, and a put whose stream fails (too
// large, not media, the client gone) stores nothing either. Packaging cannot run in a Worker (no ffmpeg), so each
// accepted upload is handed to a packager running elsewhere: a POST to UPLOAD_WEBHOOK_URL, signed with an HMAC of the
// body (ADMIN_SECRET), which runs `hls-gate package <source> --id <id> --r2 <bucket> --r2-remote` there.
// https://developers.cloudflare.com/r2/api/workers/workers-api-reference/#r2putoptions

export interface HandOff {
  url: string;
  secret: string;
}

const key = (id: string) => `.uploads/${id}/source`;

async function sign(secret: string, body: string): Promise<string> {
  const k = await crypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return [...new Uint8Array(await crypto.subtle.sign('HMAC', k, new TextEncoder().encode(body)))].map((b) => b.toString(16).padStart(2, '0')).join('');
}

export function createR2Uploads(bucket: R2Bucket, handOff?: HandOff): UploadSink {
  return {
    async receive(videoId, body, expect): Promise<UploadResult> {
      if (expect.length === null) return { ok: false, reason: 'length-required' };
      let stored: R2Object | null;
      // R2 needs the length of a streamed body up front (the route has checked it against the limit).
      const fixed = new FixedLengthStream(expect.length);
      const piped = body.pipeTo(fixed.writable).then(() => null, (e: unknown) => e);
      try {
        stored = await bucket.put(key(videoId), fixed.readable, { sha256: expect.sha256, customMetadata: { sha256: expect.sha256 } });
      } catch (err) {
        await bucket.delete(key(videoId)).catch(() => {});
        // The guard's refusal (not media, too large) reaches R2 as a broken stream: report the guard's reason.
        const cause = await piped;
        if (cause instanceof UploadError) return { ok: false, reason: cause.reason };
        return { ok: false, reason: /sha-?256|checksum|digest/i.test(String(err)) ? 'hash-mismatch' : 'incomplete' };
      }
      const cause = await piped;
      if (cause) {
        await bucket.delete(key(videoId)).catch(() => {});
        return { ok: false, reason: cause instanceof UploadError ? cause.reason : 'incomplete' };
      }
      if (!stored) return { ok: false, reason: 'incomplete' };
      if (handOff) {
        const payload = JSON.stringify({ videoId, key: key(videoId), bytes: stored.size, sha256: expect.sha256 });
        await fetch(handOff.url, { method: 'POST', body: payload, headers: { 'Content-Type': 'application/json', 'X-Hls-Gate-Signature': await sign(handOff.secret, payload) } }).catch(() => {});
      }
      return { ok: true, bytes: stored.size };
    },
    async status(videoId): Promise<UploadStatus | null> {
      return (await bucket.head(key(videoId))) ? { status: 'uploaded' } : null;
    },
    async acceptedHash(videoId) {
      return (await bucket.head(key(videoId)))?.customMetadata?.sha256 ?? null;
    },
  };
}
