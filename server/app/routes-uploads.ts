import type { Context, Hono } from 'hono';
import type { AppContext, GatewayEnv } from './context.ts';
import { VIDEO_ID, mountPrefix } from './layout.ts';
import { badHost, cloudFrontDenial, optionalJsonBody, problem } from './responses.ts';
import { uploadGuard } from './upload-guard.ts';
import { signUrl } from '../core/index.ts';
import { sameSecret } from './routes-admin.ts';
import type { UploadRefusal } from './storage.ts';

// Signed uploads, the way they work through CloudFront: POST /api/uploads hands out a CloudFront signed URL (custom
// policy, exact Resource, short expiry) for PUT /uploads/<id>/source; the PUT carries x-amz-content-sha256 (the
// body's SHA-256, hex, as S3 requires it through CloudFront). hls-gate accepts that PUT itself: the URL is checked
// exactly like a media request, the body streamed to the upload sink with its hash, size and leading bytes checked
// as it arrives; a refused upload leaves nothing. Who may upload: a viewer token with `"upload": true`, or the admin
// secret. A published video is never overwritten.

const REFUSALS: Record<UploadRefusal, [400 | 411 | 413 | 415, string]> = {
  'length-required': [411, 'Send Content-Length with the upload (this runtime stores a body of known length).'],
  'hash-mismatch': [400, 'The body does not match its x-amz-content-sha256.'],
  'too-large': [413, 'The body is larger than UPLOAD_MAX_BYTES.'],
  'not-a-video': [415, 'The body does not start like a video or audio file.'],
  incomplete: [400, 'The body ended before it was complete (the client went away).'],
};

export function uploadRoutes(app: Hono<GatewayEnv>, ctx: AppContext): void {
  const { deps } = ctx;
  const limits = deps.config.uploads;
  const sink = deps.uploads;
  const route = '/uploads/:videoId/source';

  /** The caller may upload: the admin secret, or a viewer token granting `upload`. */
  async function uploader(c: Context): Promise<Response | null> {
    const header = c.req.header('Authorization') ?? '';
    const admin = deps.config.adminSecret;
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1];
    if (admin && bearer && (await sameSecret(bearer, admin))) return null;
    const auth = await deps.auth.authenticate(header, ctx.now());
    if (!auth.ok) return problem(auth.status, auth.code, auth.detail);
    if (!auth.viewer.canUpload) return problem(403, 'no-upload-permission', 'The viewer token does not grant uploads ("upload": true).');
    if (auth.viewer.subject) c.set('sub', auth.viewer.subject);
    return null;
  }
  const published = async (id: string) => (await deps.storage.head(`${id}/master.m3u8`)) !== null;

  app.post('/api/uploads', async (c) => {
    if (!limits || !sink) return problem(404, 'uploads-off', 'Uploads are off (UPLOADS=true turns them on).');
    const refused = await uploader(c);
    if (refused) return refused;
    const mediaBase = ctx.mediaBase(c);
    if (!mediaBase) return badHost();
    const body = await optionalJsonBody(c.req, '{ "videoId": "id" } (optional)');
    if (body instanceof Response) return body;
    const videoId = body.videoId === undefined ? [...crypto.getRandomValues(new Uint8Array(9))].map((b) => (b % 36).toString(36)).join('') : body.videoId;
    if (typeof videoId !== 'string' || !VIDEO_ID.test(videoId)) return problem(400, 'bad-video-id', 'Video IDs are 1 to 64 letters, digits, "-" or "_".');
    if (await published(videoId)) return problem(409, 'video-exists', 'A video with this ID is published; it is never overwritten.');
    const url = `${mediaBase}${mountPrefix(c, '/api/uploads')}/uploads/${videoId}/source`;
    const expires = Math.floor(ctx.now() / 1000) + limits.urlTtl;
    const uploadUrl = await signUrl(url, { expires, resource: url }, { keyPairId: deps.config.keyPairId, privateKey: deps.signingKey });
    c.header('Cache-Control', 'no-store');
    return c.json({ videoId, uploadUrl, expiresAt: new Date(expires * 1000).toISOString(), maxBytes: limits.maxBytes }, 201);
  });

  app.put(route, async (c) => {
    if (!limits || !sink) return problem(404, 'uploads-off', 'Uploads are off.');
    const videoId = c.req.param('videoId');
    if (!VIDEO_ID.test(videoId)) return problem(400, 'bad-video-id', 'Video IDs are 1 to 64 letters, digits, "-" or "_".');
    const mediaBase = ctx.mediaBase(c);
    if (!mediaBase) return badHost();
    const url = new URL(c.req.url);
    const verdict = await deps.verifier.verify({ url: mediaBase + url.pathname + url.search, cookie: null, clientIp: ctx.clientIp(c), now: ctx.now() / 1000 });
    if (!verdict.ok) return cloudFrontDenial(verdict.denial);
    c.set('keyPairId', verdict.grant.keyPairId);
    const sha256 = c.req.header('x-amz-content-sha256')?.toLowerCase();
    if (!sha256) return problem(400, 'hash-missing', 'Send the body\'s SHA-256 (hex) in x-amz-content-sha256.');
    if (!/^[0-9a-f]{64}$/.test(sha256)) return problem(400, 'hash-malformed', 'x-amz-content-sha256 must be 64 hex digits.');
    const declared = c.req.header('Content-Length');
    if (declared !== undefined && Number(declared) > limits.maxBytes) return problem(413, 'too-large', REFUSALS['too-large'][1]);
    // A retry of an accepted body is answered from what is known (never read twice); another body is refused
    // while the first is being packaged or once it is published.
    const state = await sink.status(videoId);
    if (state && state.status !== 'failed') {
      if ((await sink.acceptedHash(videoId)) === sha256) return c.json({ videoId, ...state }, 200);
      return problem(409, 'upload-exists', 'Another body was already accepted under this ID.');
    }
    if (await published(videoId)) return problem(409, 'video-exists', 'A video with this ID is published; it is never overwritten.');
    const body = c.req.raw.body;
    if (!body) return problem(400, 'incomplete', 'The upload has no body.');
    const length = declared !== undefined && /^\d+$/.test(declared) ? Number(declared) : null;
    const result = await sink.receive(videoId, body.pipeThrough(uploadGuard(limits.maxBytes)), { sha256, maxBytes: limits.maxBytes, length });
    if (!result.ok) {
      const [status, detail] = REFUSALS[result.reason];
      return problem(status, result.reason, detail, { Connection: 'close' });
    }
    return c.json({ videoId, bytes: result.bytes, status: 'uploaded' }, 201);
  });

  app.get('/api/uploads/:videoId', async (c) => {
    if (!limits || !sink) return problem(404, 'uploads-off', 'Uploads are off.');
    const refused = await uploader(c);
    if (refused) return refused;
    const videoId = c.req.param('videoId');
    if (!VIDEO_ID.test(videoId)) return problem(400, 'bad-video-id', 'Video IDs are 1 to 64 letters, digits, "-" or "_".');
    c.header('Cache-Control', 'no-store');
    const state = await sink.status(videoId);
    if (state) return c.json({ videoId, ...state });
    return (await published(videoId)) ? c.json({ videoId, status: 'ready' }) : problem(404, 'no-upload', 'Nothing was uploaded under this ID.');
  });
}
