import type { Context, Hono } from 'hono';
import type { AppContext, GatewayEnv } from './context.ts';
import { ROUTES, VIDEO_ID, mountPrefix, routePath } from './layout.ts';
import { badHost, cloudFrontDenial, optionalJsonBody, problem } from './responses.ts';
import { uploadGuard } from './upload-guard.ts';
import { signUrl } from '../core/index.ts';
import { sameSecret } from './routes-admin.ts';
import { findVideo } from './catalog.ts';
import type { UploadOwner, UploadRefusal, UploadSink } from './storage.ts';
import type { GatewayConfig } from './config.ts';

// Signed uploads, the way they work through CloudFront: POST /api/uploads reserves an ID for the uploader and hands
// out a CloudFront signed URL (custom policy, exact Resource, short expiry) for PUT /uploads/<id>/source; the PUT
// carries x-amz-content-sha256 (the body's SHA-256, hex, as S3 requires it through CloudFront). hls-gate accepts
// that PUT itself: the URL is checked exactly like a media request, one body is claimed per ID, and the body is
// streamed to the upload sink with its hash, size and leading bytes checked as it arrives; a refused upload leaves
// nothing. Who may upload: a viewer token with `"upload": true` and a `sub` (the ID's owner), or the admin secret.
// Only the owner (or the admin) reads an upload's status; a published or catalogued video is never overwritten.

const ADMIN: UploadOwner = 'admin';
const badId = () => problem('bad-video-id');
const exists = () => problem('video-exists');
const taken = () => problem('upload-exists');
const full = () => problem('storage-full');

/** What every upload route works with, once uploads are on. */
interface Uploads {
  ctx: AppContext;
  limits: NonNullable<GatewayConfig['uploads']>;
  sink: UploadSink;
}

export function uploadRoutes(app: Hono<GatewayEnv>, ctx: AppContext): void {
  const { uploads: limits } = ctx.deps.config;
  const sink = ctx.deps.uploads;
  const up: Uploads | undefined = limits && sink ? { ctx, limits, sink } : undefined;
  const off = () => problem('uploads-off');
  app.post(ROUTES.uploads, (c) => (up ? reserve(c, up) : off()));
  app.put(ROUTES.uploadSource, (c) => (up ? receive(c, up) : off()));
  app.get(ROUTES.upload, (c) => (up ? status(c, up) : off()));
}

/** Who is asking: the admin, or the uploader token's subject; or the refusal. */
async function uploader(c: Context<GatewayEnv>, { ctx }: Uploads): Promise<UploadOwner | Response> {
  const { deps } = ctx;
  const header = c.req.header('Authorization') ?? '';
  const admin = deps.config.adminSecret;
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1];
  if (admin && bearer && (await sameSecret(bearer, admin))) return ADMIN;
  const auth = await deps.auth.authenticate(header, ctx.now());
  if (!auth.ok) return problem(auth.code, auth.detail);
  if (!auth.viewer.canUpload) return problem('no-upload-permission');
  if (!auth.viewer.subject)
    return problem('no-subject', 'An uploader token needs a "sub": uploads belong to the uploader who reserved them.');
  c.set('sub', auth.viewer.subject);
  return `sub:${auth.viewer.subject}`;
}

/** A published or catalogued video is never overwritten. */
async function published({ ctx }: Uploads, id: string): Promise<boolean> {
  return (await findVideo(ctx.deps.storage, id, ctx.now(), ctx.catalogError)) !== null;
}

/** POST /api/uploads: an ID reserved for this uploader, and the signed URL its one body goes to. */
async function reserve(c: Context<GatewayEnv, typeof ROUTES.uploads>, up: Uploads): Promise<Response> {
  const { ctx, limits, sink } = up;
  const owner = await uploader(c, up);
  if (owner instanceof Response) return owner;
  const mediaBase = ctx.mediaBase(c);
  if (!mediaBase) return badHost();
  const body = await optionalJsonBody(c.req, '{ "videoId": "id" } (optional)');
  if (body instanceof Response) return body;
  const videoId =
    body.videoId === undefined
      ? [...crypto.getRandomValues(new Uint8Array(12))].map((b) => (b % 36).toString(36)).join('')
      : body.videoId;
  if (typeof videoId !== 'string' || !VIDEO_ID.test(videoId)) return badId();
  if (await published(up, videoId)) return exists();
  const now = ctx.now();
  if (owner !== ADMIN && (await sink.reservation(videoId))?.owner !== owner) {
    const pending = await sink.pending(owner, now);
    if (pending.count >= limits.maxPending)
      return problem(
        'too-many-uploads',
        `This uploader has ${pending.count} unfinished uploads (UPLOAD_MAX_PENDING); wait until one is packaged.`,
      );
  }
  if (sink.hasRoom && !(await sink.hasRoom(0))) return full();
  const expires = Math.floor(now / 1000) + limits.urlTtl;
  if ((await sink.reserve(videoId, { owner, expiresAt: expires * 1000 }, now)) === 'taken') return taken();
  const url = `${mediaBase}${mountPrefix(c, ROUTES.uploads)}${routePath(ROUTES.uploadSource, { videoId })}`;
  const uploadUrl = await signUrl(
    url,
    { expires, resource: url },
    { keyPairId: ctx.deps.config.keyPairId, privateKey: ctx.deps.signingKey },
  );
  c.header('Cache-Control', 'no-store');
  return c.json(
    { videoId, uploadUrl, expiresAt: new Date(expires * 1000).toISOString(), maxBytes: limits.maxBytes },
    201,
  );
}

/** The PUT's credentials and declarations, checked before anything is claimed: the signed URL, the hash, the length. */
async function signedPut(
  c: Context<GatewayEnv>,
  { ctx, limits }: Uploads,
): Promise<Response | { videoId: string; sha256: string; length: number | null }> {
  const videoId = c.req.param('videoId') ?? '';
  if (!VIDEO_ID.test(videoId)) return badId();
  const mediaBase = ctx.mediaBase(c);
  if (!mediaBase) return badHost();
  const url = new URL(c.req.url);
  const verdict = await ctx.deps.verifier.verify({
    url: mediaBase + url.pathname + url.search,
    cookie: null,
    clientIp: ctx.clientIp(c),
    now: ctx.now() / 1000,
  });
  if (!verdict.ok) return cloudFrontDenial(verdict.denial);
  c.set('keyPairId', verdict.grant.keyPairId);
  const sha256 = c.req.header('x-amz-content-sha256')?.toLowerCase();
  if (!sha256) return problem('hash-missing');
  if (!/^[0-9a-f]{64}$/.test(sha256)) return problem('hash-malformed');
  const declared = c.req.header('Content-Length');
  const length = declared !== undefined && /^\d{1,15}$/.test(declared) ? Number(declared) : null;
  if (length !== null && length > limits.maxBytes) return problem('too-large');
  return { videoId, sha256, length };
}

/** PUT /uploads/<id>/source: the one body of a reserved ID, checked as it streams to the sink. */
async function receive(c: Context<GatewayEnv>, up: Uploads): Promise<Response> {
  const { ctx, limits, sink } = up;
  const put = await signedPut(c, up);
  if (put instanceof Response) return put;
  const { videoId, sha256, length } = put;
  // The signed URL was handed only to the uploader holding the reservation, and expires with it.
  const reservation = await sink.reservation(videoId);
  if (!reservation)
    return problem('no-upload', 'Nothing is reserved under this ID: ask POST /api/uploads for an upload URL.');
  if (await published(up, videoId)) return exists();
  // Exactly one body per ID: a retry of the accepted body is answered from what is known (never read twice).
  if (!(await sink.claim(videoId))) {
    const state = await sink.status(videoId);
    if (state && (await sink.acceptedHash(videoId)) === sha256) return c.json({ videoId, ...state }, 200);
    return taken();
  }
  let room = limits.maxBytes;
  let over: UploadRefusal = 'too-large';
  if (reservation.owner !== ADMIN) {
    const quotaLeft = limits.maxPendingBytes - (await sink.pending(reservation.owner, ctx.now())).bytes;
    if (quotaLeft < room) [room, over] = [Math.max(0, quotaLeft), 'over-quota'];
  }
  const refuse = async (res: Response) => {
    await sink.release(videoId);
    return res;
  };
  if (length !== null && length > room) return refuse(problem(over, undefined, { Connection: 'close' }));
  if (sink.hasRoom && !(await sink.hasRoom(length ?? room))) return refuse(full());
  const body = c.req.raw.body;
  if (!body) return refuse(problem('incomplete', 'The upload has no body.'));
  const result = await sink.receive(videoId, body.pipeThrough(uploadGuard(room, over)), {
    sha256,
    maxBytes: room,
    length,
  });
  if (!result.ok) return problem(result.reason, undefined, { Connection: 'close' });
  return c.json({ videoId, bytes: result.bytes, status: 'uploaded' }, 201);
}

/** GET /api/uploads/<id>: where an upload stands, for its owner (or the admin) only. */
async function status(c: Context<GatewayEnv>, up: Uploads): Promise<Response> {
  const { sink } = up;
  const owner = await uploader(c, up);
  if (owner instanceof Response) return owner;
  const videoId = c.req.param('videoId') ?? '';
  if (!VIDEO_ID.test(videoId)) return badId();
  c.header('Cache-Control', 'no-store');
  const reservation = await sink.reservation(videoId);
  if (reservation && owner !== ADMIN && reservation.owner !== owner) return problem('not-upload-owner');
  const state = reservation ? await sink.status(videoId) : null;
  if (state) return c.json({ videoId, ...state });
  if (reservation) return c.json({ videoId, status: 'reserved' });
  return problem('no-upload', 'Nothing was uploaded under this ID by this uploader.');
}
