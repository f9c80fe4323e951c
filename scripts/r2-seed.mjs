// Seeds the LOCAL R2 bucket that `wrangler dev --local` uses (.wrangler/state) with every file of media/,
// keyed by its path below media/ (ladder/master.m3u8, catalog.json, ...). Writes through Miniflare's own
// storage, which is much faster than one `wrangler r2 object put` process per file.
import { Miniflare } from 'miniflare';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const files = (dir) =>
  readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? files(join(dir, f)) : [join(dir, f)]));

export async function seedLocalR2({
  mediaDir = join(root, 'media'),
  bucket = 'hls-gate-media',
  persistTo = join(root, '.wrangler/state'),
} = {}) {
  const mf = new Miniflare({
    modules: true,
    script: 'export default { fetch() { return new Response(null) } }',
    r2Buckets: { MEDIA: bucket },
    r2Persist: join(persistTo, 'v3/r2'),
  });
  try {
    const r2 = await mf.getR2Bucket('MEDIA');
    const list = files(mediaDir);
    for (const file of list) {
      const b = readFileSync(file);
      await r2.put(relative(mediaDir, file), b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
    }
    return list.length;
  } finally {
    await mf.dispose();
  }
}

if (import.meta.url === `file://${process.argv[1]}`)
  console.error(`seeded ${await seedLocalR2()} objects into the local R2 bucket`);
