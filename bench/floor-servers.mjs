// Reference servers for the HTTP benchmarks: what the runtime and the framework allow on this machine with none of
// hls-gate's work. Nothing here checks anything; it only shows how far a ratio's target is from the floor.
//   node bench/floor-servers.mjs files <port> <dir>   node:http serving <dir>/<path> per request: open, fstat, read
//                                                     into a reused buffer, close, one JSON log line
//   node bench/floor-servers.mjs grants <port>        a Hono app (@hono/node-server) answering POST
//                                                     /api/videos/:id/access: one policy bound to X-Forwarded-For,
//                                                     signed with CLOUDFRONT_PRIVATE_KEY (node:crypto, the signatures
//                                                     of one event-loop turn together, as the gateway makes them),
//                                                     the three cookies, the same JSON, one log line
// Log lines go to stdout, those of one event-loop turn in one write (as the gateway writes its own).
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { createServer } from 'node:http';
import { createPrivateKey, sign } from 'node:crypto';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';

const [kind, port, dir] = process.argv.slice(2);
let lines = [];
const log = (entry) => {
  if (lines.push(JSON.stringify({ level: 'info', msg: 'request', ...entry })) === 1) {
    setImmediate(() => {
      process.stdout.write(`${lines.join('\n')}\n`);
      lines = [];
    });
  }
};
process.on('SIGTERM', () => process.exit(0));

if (kind === 'files') {
  const buffer = Buffer.allocUnsafe(4 * 1024 * 1024);
  createServer((req, res) => {
    const start = performance.now();
    const path = decodeURIComponent(req.url.split('?')[0]);
    if (path.includes('..')) return res.writeHead(404).end(); // a benchmark tool, but still only its own folder
    const fd = openSync(join(dir, path), 'r');
    const size = fstatSync(fd).size;
    readSync(fd, buffer, 0, size, 0);
    closeSync(fd);
    res.writeHead(200, { 'Content-Type': 'video/mp2t', 'Content-Length': size });
    res.end(buffer.subarray(0, size));
    log({
      time: new Date().toISOString(),
      method: req.method,
      path: req.url,
      status: 200,
      bytes: size,
      ms: Math.round((performance.now() - start) * 10) / 10,
    });
  }).listen(Number(port), '127.0.0.1');
} else if (kind === 'grants') {
  const key = createPrivateKey(process.env.CLOUDFRONT_PRIVATE_KEY);
  const options = key.asymmetricKeyType === 'ec' ? { key, dsaEncoding: 'der' } : key;
  let queue = [];
  const signSoon = (data) =>
    new Promise((resolve) => {
      if (queue.push([data, resolve]) === 1) {
        setImmediate(() => {
          const batch = queue;
          queue = [];
          for (const [d, r] of batch) r(sign('sha1', d, options));
        });
      }
    });
  const cloudFront = (b) => b.toString('base64').replace(/\+/g, '-').replace(/=/g, '_').replace(/\//g, '~');
  const app = new Hono();
  app.post('/api/videos/:id/access', async (c) => {
    const start = performance.now();
    const ip = c.req.header('X-Forwarded-For') ?? '127.0.0.1';
    const expires = Math.ceil((Date.now() / 1000 + 3600) / 60) * 60;
    const folder = `/videos/${c.req.param('id')}/`;
    const policy = `{"Statement":[{"Resource":"http://127.0.0.1:${port}${folder}*","Condition":{"DateLessThan":{"AWS:EpochTime":${expires}},"IpAddress":{"AWS:SourceIp":"${ip}/32"}}}]}`;
    const signature = await signSoon(Buffer.from(policy));
    const attributes = `; Max-Age=${expires - Math.floor(Date.now() / 1000)}; Path=${folder}; HttpOnly; SameSite=Lax`;
    c.header('Set-Cookie', `CloudFront-Key-Pair-Id=K2JCJMDEHXQW5F${attributes}`, { append: true });
    c.header('Set-Cookie', `CloudFront-Signature=${cloudFront(signature)}${attributes}`, { append: true });
    c.header('Set-Cookie', `CloudFront-Policy=${cloudFront(Buffer.from(policy))}${attributes}`, { append: true });
    c.header('Cache-Control', 'no-store');
    log({
      time: new Date().toISOString(),
      method: 'POST',
      path: c.req.path,
      status: 200,
      ms: Math.round((performance.now() - start) * 10) / 10,
    });
    return c.json({
      videoId: c.req.param('id'),
      playlistUrl: `http://127.0.0.1:${port}${folder}master.m3u8`,
      expiresAt: new Date(expires * 1000).toISOString(),
      refreshAt: new Date((expires - 720) * 1000).toISOString(),
    });
  });
  serve({ fetch: app.fetch, port: Number(port), hostname: '127.0.0.1' });
} else {
  throw new Error('usage: floor-servers.mjs files <port> <dir> | grants <port>');
}
