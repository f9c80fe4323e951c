import type { Reservation, UploadResult, UploadSink, UploadStatus } from '../app/storage.ts';
import { UploadError } from '../app/upload-guard.ts';
import { SIGNATURE_HEADER } from '../core/headers.ts';
import { UPLOADS_FOLDER, uploadKey } from '../app/layout.ts';

// Uploaded sources on Workers: R2 keys `.uploads/<id>/source` (never served: no video ID starts with "."). R2 checks
// the body against the SHA-256 given to put() and stores nothing when it differs, and a put whose stream fails (too
// large, not media, the client gone) stores nothing either. Packaging cannot run in a Worker (no ffmpeg), so each
// accepted upload is handed to a packager running elsewhere: a POST to UPLOAD_WEBHOOK_URL, signed with an HMAC of the
// body (ADMIN_SECRET), which runs `hls-gate package <source> --id <id> --r2 <bucket> --r2-remote` there.
// https://developers.cloudflare.com/r2/api/workers/workers-api-reference/#r2putoptions
// Owners: `.uploads/<id>/reservation` holds { owner, expiresAt } (also as custom metadata, so one listing counts an
// uploader's unfinished uploads); the one body slot is `.uploads/<id>/claim`, created with a conditional put
// (`onlyIf: { etagDoesNotMatch: '*' }`: only when no object has the key), so exactly one PUT gets it. Packaging, and
// removing sources afterwards, is the webhook packager's (an R2 lifecycle rule on `.uploads/` bounds what is left).
// https://developers.cloudflare.com/r2/api/workers/workers-api-reference/#conditional-operations

/** Where each accepted upload is announced (UPLOAD_WEBHOOK_URL), signed with an HMAC of the body. */
export interface PackagerWebhook {
  url: string;
  secret: string;
}

const key = (id: string) => uploadKey(id, 'source');
const reservationKey = (id: string) => uploadKey(id, 'reservation');
const claimKey = (id: string) => uploadKey(id, 'claim');
const CREATE_ONLY: R2PutOptions = { onlyIf: { etagDoesNotMatch: '*' } };

async function sign(secret: string, body: string): Promise<string> {
  const k = await crypto.subtle.importKey(
    'raw',
    new TextEncoder().encode(secret),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  return [...new Uint8Array(await crypto.subtle.sign('HMAC', k, new TextEncoder().encode(body)))]
    .map((b) => b.toString(16).padStart(2, '0'))
    .join('');
}

export function createR2Uploads(bucket: R2Bucket, webhook?: PackagerWebhook): UploadSink {
  const reservationOf = async (videoId: string): Promise<(Reservation & { etag: string }) | null> => {
    const obj = await bucket.get(reservationKey(videoId));
    if (!obj) return null;
    try {
      const r = JSON.parse(await obj.text()) as Reservation;
      return { owner: r.owner, expiresAt: r.expiresAt, etag: obj.etag };
    } catch {
      return null;
    }
  };
  const writeReservation = (videoId: string, r: Reservation, onlyIf: R2PutOptions['onlyIf']) =>
    bucket.put(reservationKey(videoId), JSON.stringify(r), {
      customMetadata: { owner: r.owner, expiresAt: String(r.expiresAt) },
      ...(onlyIf ? { onlyIf } : {}),
    });
  return {
    async reserve(videoId, reservation, now) {
      const held = await reservationOf(videoId);
      if (!held) return (await writeReservation(videoId, reservation, CREATE_ONLY.onlyIf)) ? 'reserved' : 'taken';
      if (held.owner === reservation.owner) {
        await writeReservation(
          videoId,
          { owner: held.owner, expiresAt: Math.max(held.expiresAt, reservation.expiresAt) },
          undefined,
        );
        return 'reserved';
      }
      if (held.expiresAt > now || (await bucket.head(claimKey(videoId))) || (await bucket.head(key(videoId))))
        return 'taken';
      // Abandoned: taken over only if nobody else changed it since it was read.
      return (await writeReservation(videoId, reservation, { etagMatches: held.etag })) ? 'reserved' : 'taken';
    },
    async reservation(videoId) {
      const held = await reservationOf(videoId);
      return held ? { owner: held.owner, expiresAt: held.expiresAt } : null;
    },
    pending: (owner, now) => pendingOf(bucket, owner, now),
    async claim(videoId) {
      return (await bucket.put(claimKey(videoId), '', CREATE_ONLY)) !== null;
    },
    async release(videoId) {
      if (!(await bucket.head(key(videoId)))) await bucket.delete(claimKey(videoId));
    },
    async receive(videoId, body, expect): Promise<UploadResult> {
      const result = await storeSource(bucket, webhook, videoId, body, expect);
      if (!result.ok) await bucket.delete(claimKey(videoId)).catch(() => {});
      return result;
    },
    async status(videoId): Promise<UploadStatus | null> {
      return (await bucket.head(key(videoId))) ? { status: 'uploaded' } : null;
    },
    async acceptedHash(videoId) {
      return (await bucket.head(key(videoId)))?.customMetadata?.sha256 ?? null;
    },
  };
}

/** An uploader's unfinished uploads (reserved and unexpired, or stored and not yet packaged): one listing. */
async function pendingOf(bucket: R2Bucket, owner: string, now: number): Promise<{ count: number; bytes: number }> {
  const reserved = new Map<string, number>();
  const sources = new Map<string, number>();
  let cursor: string | undefined;
  do {
    // `include` asks for each object's custom metadata (not in this version of the binding's types).
    const options: R2ListOptions & { include: string[] } = {
      prefix: `${UPLOADS_FOLDER}/`,
      include: ['customMetadata'],
      ...(cursor ? { cursor } : {}),
    };
    const page = await bucket.list(options);
    for (const o of page.objects) {
      const [, id, name] = o.key.split('/');
      if (!id) continue;
      if (name === 'reservation' && o.customMetadata?.owner === owner)
        reserved.set(id, Number(o.customMetadata.expiresAt));
      if (name === 'source') sources.set(id, o.size);
    }
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  let count = 0;
  let bytes = 0;
  for (const [id, expiresAt] of reserved) {
    const size = sources.get(id);
    if (size === undefined && expiresAt <= now) continue;
    count++;
    bytes += size ?? 0;
  }
  return { count, bytes };
}

/** The source stored under its hash, or nothing; announced to the packager when stored. */
async function storeSource(
  bucket: R2Bucket,
  webhook: PackagerWebhook | undefined,
  videoId: string,
  body: ReadableStream<Uint8Array>,
  expect: { sha256: string; maxBytes: number; length: number | null },
): Promise<UploadResult> {
  if (expect.length === null) return { ok: false, reason: 'length-required' };
  let stored: R2Object | null;
  // R2 needs the length of a streamed body up front (the route has checked it against the limit).
  const fixed = new FixedLengthStream(expect.length);
  const piped = body.pipeTo(fixed.writable).then(
    () => null,
    (e: unknown) => e,
  );
  try {
    stored = await bucket.put(key(videoId), fixed.readable, {
      sha256: expect.sha256,
      customMetadata: { sha256: expect.sha256 },
    });
  } catch (err) {
    await bucket.delete(key(videoId)).catch(() => {});
    // The guard's refusal (not media, too large) reaches R2 as a broken stream: report the guard's reason.
    const cause = await piped;
    if (cause instanceof UploadError) return { ok: false, reason: cause.code };
    return { ok: false, reason: /sha-?256|checksum|digest/i.test(String(err)) ? 'hash-mismatch' : 'incomplete' };
  }
  const cause = await piped;
  if (cause) {
    await bucket.delete(key(videoId)).catch(() => {});
    return { ok: false, reason: cause instanceof UploadError ? cause.code : 'incomplete' };
  }
  if (!stored) return { ok: false, reason: 'incomplete' };
  if (webhook) {
    const payload = JSON.stringify({ videoId, key: key(videoId), bytes: stored.size, sha256: expect.sha256 });
    await fetch(webhook.url, {
      method: 'POST',
      body: payload,
      headers: { 'Content-Type': 'application/json', [SIGNATURE_HEADER]: await sign(webhook.secret, payload) },
    }).catch(() => {});
  }
  return { ok: true, bytes: stored.size };
}
