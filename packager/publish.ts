import { spawn } from 'node:child_process';
import { readFile, readdir } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { AwsClient } from 'aws4fetch';
import { contentTypeFor } from '../server/app/mime.ts';
import { parseCatalog, serialiseCatalog, type CatalogEntry } from '../server/app/catalog.ts';
import { PackageError } from './errors.ts';
import { MASTER_PLAYLIST, originKey, publishedKey, storageKey } from '../server/app/layout.ts';

// Where a packaged folder goes besides MEDIA_DIR:
// - S3 (or any S3-compatible service) for the "CloudFront in front" deployment: objects under `videos/<id>/`, the
//   path CloudFront serves, each with its Content-Type. Signed with aws4fetch: SigV4 over fetch, no dependencies,
//   the same code on Node and Workers (the whole @aws-sdk/client-s3 tree would be dozens of packages for a PUT).
// - R2 for the Workers deployment: keys `<id>/...` as the Worker's R2 adapter reads them, and the catalog entry in
//   the bucket's catalog.json. Local (the bucket `npm run dev:worker` serves, through Miniflare's storage) or
//   remote (through `wrangler r2 object put --remote`, after `wrangler login`).
// In both, the master playlist is written last: a player can never find a half-uploaded video.

export async function filesOf(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.isDirectory()) out.push(...(await filesOf(join(dir, e.name))));
    else out.push(join(dir, e.name));
  }
  return out;
}

/** The folder's files as relative keys, the master playlist last. */
async function ordered(dir: string): Promise<string[]> {
  const rel = (await filesOf(dir)).map((f) => relative(dir, f).split(sep).join('/'));
  return [...rel.filter((k) => k !== MASTER_PLAYLIST), ...rel.filter((k) => k === MASTER_PLAYLIST)];
}

export interface S3Target {
  /** `s3://bucket[/prefix]` */
  url: string;
  /** e.g. http://127.0.0.1:9000 for an S3-compatible server; default https://s3.<region>.amazonaws.com */
  endpoint?: string;
  env: Record<string, string | undefined>;
}

export function s3Client(target: S3Target): { client: AwsClient; base: string } {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(\/.*)?$/.exec(target.url);
  if (!m) throw new PackageError('publish-failed', '--s3 takes s3://bucket[/prefix]');
  const accessKeyId = target.env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = target.env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey)
    throw new PackageError(
      'publish-failed',
      '--s3 needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment (and AWS_REGION, default us-east-1)',
    );
  const region = target.env.AWS_REGION || target.env.AWS_DEFAULT_REGION || 'us-east-1';
  const endpoint = (
    target.endpoint ||
    target.env.AWS_ENDPOINT_URL_S3 ||
    target.env.AWS_ENDPOINT_URL ||
    `https://s3.${region}.amazonaws.com`
  ).replace(/\/$/, '');
  const prefix = (m[2] ?? '').replace(/^\/+|\/+$/g, '');
  const client = new AwsClient({
    accessKeyId,
    secretAccessKey,
    ...(target.env.AWS_SESSION_TOKEN ? { sessionToken: target.env.AWS_SESSION_TOKEN } : {}),
    service: 's3',
    region,
  });
  // Path-style addressing works with AWS and with every S3-compatible server.
  return { client, base: `${endpoint}/${m[1]}${prefix ? `/${prefix}` : ''}` };
}

/** Uploads `dir` to `<bucket>/<prefix>/videos/<id>/`. Refuses to overwrite a published video unless `replace`. */
export async function publishS3(
  dir: string,
  id: string,
  target: S3Target,
  replace: boolean,
  onFile: (key: string) => void,
): Promise<number> {
  const { client, base } = s3Client(target);
  const published = originKey(id, MASTER_PLAYLIST);
  const head = await client.fetch(`${base}/${published}`, { method: 'HEAD' });
  if (head.ok && !replace)
    throw new PackageError('exists', `${target.url} already has ${published}: choose another --id, or --replace it`);
  if (!head.ok && head.status !== 404 && head.status !== 403)
    throw new PackageError('publish-failed', `S3 answered ${head.status} when checking ${published}`);
  const keys = await ordered(dir);
  for (const key of keys) {
    const body = await readFile(join(dir, key));
    const object = originKey(id, key);
    const res = await client.fetch(`${base}/${object}`, {
      method: 'PUT',
      body,
      headers: { 'Content-Type': contentTypeFor(key), 'Content-Length': String(body.length) },
    });
    if (!res.ok)
      throw new PackageError(
        'publish-failed',
        `S3 refused ${object}: ${res.status} ${(await res.text()).slice(0, 200)}`,
      );
    onFile(object);
  }
  return keys.length;
}

export interface R2Target {
  bucket: string;
  remote: boolean;
  /** Local mode: the state folder `wrangler dev --persist-to` uses. */
  persistTo: string;
}

export interface Bucket {
  get(key: string): Promise<string | null>;
  put(key: string, body: Uint8Array, contentType: string): Promise<void>;
  delete(key: string): Promise<void>;
  close(): Promise<void>;
}

/** The R2 bucket of `target`: local (Miniflare's storage, as `npm run dev:worker` serves it) or remote (wrangler). */
export async function openR2Bucket(target: R2Target, env: Record<string, string | undefined>): Promise<Bucket> {
  return target.remote ? remoteBucket(target, env) : await localBucket(target);
}

async function localBucket(target: R2Target): Promise<Bucket> {
  let Miniflare: typeof import('miniflare').Miniflare;
  try {
    ({ Miniflare } = await import('miniflare'));
  } catch {
    throw new PackageError(
      'publish-failed',
      'local R2 needs miniflare (it comes with wrangler: npm i -D wrangler), or use --r2-remote',
    );
  }
  const mf = new Miniflare({
    modules: true,
    script: 'export default { fetch() { return new Response(null) } }',
    r2Buckets: { MEDIA: target.bucket },
    r2Persist: join(resolve(target.persistTo), 'v3/r2'),
  });
  const r2 = await mf.getR2Bucket('MEDIA');
  return {
    get: async (key) => (await (await r2.get(key))?.text()) ?? null,
    put: async (key, body, contentType) => {
      await r2.put(key, body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer, {
        httpMetadata: { contentType },
      });
    },
    delete: (key) => r2.delete(key),
    close: () => mf.dispose(),
  };
}

function remoteBucket(target: R2Target, env: Record<string, string | undefined>): Bucket {
  const wrangler = (args: string[], input?: Uint8Array) =>
    new Promise<{ status: number | null; stdout: Buffer; stderr: Buffer }>((done) => {
      const child = spawn('npx', ['--no-install', 'wrangler', 'r2', 'object', ...args, '--remote'], {
        env: { ...process.env, ...env, WRANGLER_SEND_METRICS: 'false' },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (d: Buffer) => out.push(d));
      child.stderr.on('data', (d: Buffer) => err.push(d));
      child.on('error', () =>
        done({ status: null, stdout: Buffer.alloc(0), stderr: Buffer.from('npx could not be started') }),
      );
      child.on('close', (status) => done({ status, stdout: Buffer.concat(out), stderr: Buffer.concat(err) }));
      child.stdin.end(input);
    });
  return {
    get: async (key) => {
      const r = await wrangler(['get', `${target.bucket}/${key}`, '--pipe']);
      return r.status === 0 ? r.stdout.toString('utf8') : null;
    },
    put: async (key, body, contentType) => {
      const r = await wrangler(['put', `${target.bucket}/${key}`, '--pipe', '--content-type', contentType], body);
      if (r.status !== 0)
        throw new PackageError(
          'publish-failed',
          `wrangler could not upload ${key} (run npx wrangler login first): ${r.stderr.toString().trim().split('\n').pop() ?? ''}`,
        );
    },
    delete: async (key) => {
      const r = await wrangler(['delete', `${target.bucket}/${key}`]);
      if (r.status !== 0) throw new PackageError('publish-failed', `wrangler could not delete ${key}`);
    },
    close: async () => {},
  };
}

/** Uploads `dir` to R2 under `<id>/` and adds `entry` to the bucket's catalog.json. */
export async function publishR2(
  dir: string,
  id: string,
  target: R2Target,
  entry: CatalogEntry,
  replace: boolean,
  env: Record<string, string | undefined>,
  onFile: (key: string) => void,
): Promise<number> {
  const bucket = await openR2Bucket(target, env);
  try {
    if ((await bucket.get(publishedKey(id))) !== null && !replace)
      throw new PackageError(
        'exists',
        `R2 bucket ${target.bucket} already has ${publishedKey(id)}: choose another --id, or --replace it`,
      );
    const keys = await ordered(dir);
    for (const key of keys) {
      await bucket.put(storageKey(id, key), await readFile(join(dir, key)), contentTypeFor(key));
      onFile(storageKey(id, key));
    }
    const current = await bucket.get('catalog.json');
    const entries = current ? parseCatalog(current) : [];
    const next = [...entries.filter((e) => e.id !== id), entry];
    const text = serialiseCatalog(next);
    parseCatalog(text);
    await bucket.put('catalog.json', new TextEncoder().encode(text), 'application/json');
    return keys.length;
  } finally {
    await bucket.close();
  }
}
