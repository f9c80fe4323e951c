import type { Hono } from 'hono';
import type { AppContext, GatewayEnv } from './context.ts';
import type { Revocation } from './session-store.ts';
import { problem } from './responses.ts';
import { isSubject } from './subject.ts';
import { SID } from './session-control.ts';
import { ROUTES } from './layout.ts';

// The admin API: revocations, behind ADMIN_SECRET (its own secret: never the viewer-token or session secret).
//   GET    /api/admin/revocations                          -> { revocations: [{ kind, id, until }] }
//   POST   /api/admin/revocations  { sub | session, until (epoch s) | ttl (s) }  -> 201
//   DELETE /api/admin/revocations?sub=ID | ?session=ID     -> 204, or 404 when there was none
// Off (404) without ADMIN_SECRET and session control.

const MAX_TTL = 10 * 365 * 86400;

/** Compares digests, so the time taken says nothing about how much of the secret matched. */
export async function sameSecret(given: string, expected: string): Promise<boolean> {
  const digest = async (t: string) =>
    new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(t)));
  const [a, b] = await Promise.all([digest(given), digest(expected)]);
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** Exactly one of a viewer (a sub, by the one rule for subs) or a device session (a sid as the gateway mints them). */
function target(input: { sub?: unknown; session?: unknown }): Pick<Revocation, 'kind' | 'id'> | null {
  if (isSubject(input.sub) && input.session === undefined) return { kind: 'sub', id: input.sub };
  if (typeof input.session === 'string' && SID.test(input.session) && input.sub === undefined)
    return { kind: 'session', id: input.session };
  return null;
}

export function adminRoutes(app: Hono<GatewayEnv>, ctx: AppContext): void {
  const secret = ctx.deps.config.adminSecret;
  const sessions = ctx.deps.sessions;
  app.use(ROUTES.admin, async (c, next) => {
    if (!secret || !sessions)
      return problem(
        'not-found',
        'The revocation API is off: it needs ADMIN_SECRET and session control (SESSION_SECRET).',
      );
    const m = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header('Authorization') ?? '');
    if (!m || !(await sameSecret(m[1]!, secret))) return problem('admin-unauthorized');
    c.header('Cache-Control', 'no-store');
    await next();
  });

  app.get(ROUTES.revocations, async (c) =>
    c.json({ revocations: await sessions!.store.revocations(Math.floor(ctx.now() / 1000)) }),
  );

  app.post(ROUTES.revocations, async (c) => {
    const shape =
      'The body must be a JSON object: { "sub": "viewer" | "session": "id", "until": epochSeconds | "ttl": seconds }.';
    let parsed: unknown;
    try {
      parsed = await c.req.json();
    } catch {
      return problem('bad-json', shape);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return problem('bad-json', shape);
    const body = parsed as { sub?: unknown; session?: unknown; until?: unknown; ttl?: unknown };
    const who = target(body);
    if (!who)
      return problem(
        'bad-target',
        'Name exactly one of "sub" (a viewer: well-formed Unicode in NFC, no control characters, at most 200 bytes of UTF-8) or "session" (one device: a 22-character session id).',
      );
    const now = Math.floor(ctx.now() / 1000);
    const until = typeof body.until === 'number' ? body.until : typeof body.ttl === 'number' ? now + body.ttl : NaN;
    if (!Number.isInteger(until) || until <= now || until > now + MAX_TTL) return problem('bad-until');
    await sessions!.store.revoke({ ...who, until });
    return c.json({ revoked: { ...who, until } }, 201);
  });

  app.delete(ROUTES.revocations, async (c) => {
    const who = target({
      ...(c.req.query('sub') !== undefined ? { sub: c.req.query('sub') } : {}),
      ...(c.req.query('session') !== undefined ? { session: c.req.query('session') } : {}),
    });
    if (!who)
      return problem('bad-target', 'Name exactly one of ?sub= (a valid sub) or ?session= (a 22-character session id).');
    return (await sessions!.store.lift(who.kind, who.id)) ? c.body(null, 204) : problem('not-revoked');
  });
}
