import { parseArgs } from 'node:util';
import { SignJWT } from 'jose';
import { UsageError, type Io } from './io.ts';
import { parseTime } from './time.ts';

/** `hls-gate token`: a viewer JWT signed with the configured AUTH_JWT_SECRET, for trying the gateway locally. */
export async function tokenCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      videos: { type: 'string', default: '*' },
      ttl: { type: 'string', default: '+1h' },
      sub: { type: 'string', default: 'local-tester' },
    },
    strict: true,
  });
  const secret = io.env.AUTH_JWT_SECRET?.trim();
  if (!secret)
    throw new UsageError(
      'AUTH_JWT_SECRET is not set: the token is signed with the secret the gateway checks (the demo makes its own: use POST /api/demo/token there)',
    );
  const videos =
    values.videos === '*'
      ? '*'
      : values.videos
          .split(',')
          .map((v) => v.trim())
          .filter(Boolean);
  if (videos !== '*' && (videos.length === 0 || videos.some((v) => !/^[A-Za-z0-9_-]{1,64}$/.test(v))))
    throw new UsageError('--videos must be * or a comma-separated list of video IDs');
  const now = Math.floor(io.now() / 1000);
  const ttl = values.ttl.startsWith('+') ? values.ttl : `+${values.ttl}`;
  const exp = parseTime(ttl, io.now(), '--ttl');
  let jwt = new SignJWT({ videos })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(values.sub)
    .setIssuedAt(now)
    .setExpirationTime(exp);
  if (io.env.AUTH_JWT_AUDIENCE) jwt = jwt.setAudience(io.env.AUTH_JWT_AUDIENCE);
  if (io.env.AUTH_JWT_ISSUER) jwt = jwt.setIssuer(io.env.AUTH_JWT_ISSUER);
  io.stdout(`${await jwt.sign(new TextEncoder().encode(secret))}\n`);
  return 0;
}
