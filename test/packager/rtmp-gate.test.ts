// The stream key check in front of ffmpeg's RTMP listener (packager/rtmp-gate.ts), as an attacker's table: what a
// stranger on the RTMP port sends, and what must happen. The reader is fed bytes built here from the RTMP
// specification (handshake, chunks of 128 bytes with type-3 continuations, AMF0 commands); the real encoder (ffmpeg
// pushing with the right and a wrong key) is in test/live/ingest.test.ts.
import { describe, expect, it } from 'vitest';
import { connect, createServer } from 'node:net';
import { PublishReader, startRtmpGate } from '../../packager/rtmp-gate.ts';
import { freePort } from '../helpers/ports.ts';

const KEY = 'stream-key-for-tests-0123456789';

const amfString = (s: string) => {
  const b = Buffer.alloc(3 + Buffer.byteLength(s));
  b[0] = 0x02;
  b.writeUInt16BE(Buffer.byteLength(s), 1);
  b.write(s, 3);
  return b;
};
const amfNumber = (n: number) => {
  const b = Buffer.alloc(9);
  b[0] = 0x00;
  b.writeDoubleBE(n, 1);
  return b;
};
const AMF_NULL = Buffer.from([0x05]);
const amfObject = (props: Record<string, string>) =>
  Buffer.concat([
    Buffer.from([0x03]),
    ...Object.entries(props).flatMap(([k, v]) => {
      const key = Buffer.alloc(2 + k.length);
      key.writeUInt16BE(k.length, 0);
      key.write(k, 2);
      return [key, amfString(v)];
    }),
    Buffer.from([0, 0, 9]),
  ]);

/** One message as chunks: a type-0 header on chunk stream 3, then type-3 continuations every `size` bytes. */
function chunks(type: number, body: Buffer, size = 128, csid = 3): Buffer {
  const parts: Buffer[] = [];
  for (let at = 0; at < body.length || at === 0; at += size) {
    if (at === 0) {
      const h = Buffer.alloc(12);
      h[0] = csid; // fmt 0
      h.writeUIntBE(0, 1, 3);
      h.writeUIntBE(body.length, 4, 3);
      h[7] = type;
      h.writeUInt32LE(1, 8);
      parts.push(h);
    } else parts.push(Buffer.from([0xc0 | csid])); // fmt 3
    parts.push(body.subarray(at, at + size));
    if (body.length === 0) break;
  }
  return Buffer.concat(parts);
}

const command = (name: string, ...args: Buffer[]) =>
  chunks(20, Buffer.concat([amfString(name), amfNumber(1), ...args]));
const HANDSHAKE = Buffer.alloc(1 + 1536 + 1536, 3);
// A connect whose object is longer than one chunk: the reader must put it back together.
const CONNECT = command(
  'connect',
  amfObject({
    app: 'live',
    tcUrl: 'rtmp://example.test:1935/live',
    flashVer: 'FMLE/3.0 (compatible; FMSc/1.0)'.repeat(4),
  }),
);
const publishing = (key: string) =>
  Buffer.concat([
    command('releaseStream', AMF_NULL, amfString(key)),
    command('FCPublish', AMF_NULL, amfString(key)),
    command('createStream', AMF_NULL),
    command('publish', AMF_NULL, amfString(key), amfString('live')),
  ]);

describe('the RTMP stream key check', () => {
  const read = (...parts: Buffer[]) => {
    const reader = new PublishReader(KEY);
    let verdict: ReturnType<PublishReader['push']> = { state: 'reading' };
    // Byte by byte and all at once must agree: an encoder's writes split anywhere.
    for (const part of parts) verdict = reader.push(part);
    const bytewise = new PublishReader(KEY);
    let slow: ReturnType<PublishReader['push']> = { state: 'reading' };
    for (const byte of Buffer.concat(parts)) {
      slow = bytewise.push(Buffer.from([byte]));
      if (slow.state !== 'reading') break;
    }
    expect(slow).toEqual(verdict);
    return verdict;
  };

  it.each([
    [
      'the right key (OBS order: releaseStream, FCPublish, publish)',
      [HANDSHAKE, CONNECT, publishing(KEY)],
      'published',
    ],
    [
      'the right key with a query (some encoders add one)',
      [HANDSHAKE, CONNECT, publishing(`${KEY}?obs=1`)],
      'published',
    ],
    ['a wrong key', [HANDSHAKE, CONNECT, publishing('not-the-key')], 'refused'],
    ['a key that only starts like the right one', [HANDSHAKE, CONNECT, publishing(KEY.slice(0, -1))], 'refused'],
    [
      'the right key in publish after a wrong one in releaseStream',
      [HANDSHAKE, CONNECT, command('releaseStream', AMF_NULL, amfString('guess')), publishing(KEY)],
      'refused',
    ],
    ['a play request', [HANDSHAKE, CONNECT, command('play', AMF_NULL, amfString(KEY))], 'refused'],
    ['media before any publish', [HANDSHAKE, CONNECT, chunks(9, Buffer.alloc(300, 1))], 'refused'],
    ['a message larger than the bound', [HANDSHAKE, chunks(20, Buffer.alloc(70 * 1024))], 'refused'],
    ['a connect and nothing more', [HANDSHAKE, CONNECT], 'reading'],
    ['a handshake alone', [HANDSHAKE], 'reading'],
  ])('%s', (_what, parts, state) => {
    let verdict: { state: string };
    try {
      verdict = read(...parts);
    } catch {
      verdict = { state: 'refused' }; // the gate refuses whatever the reader throws on (rtmp-gate.ts relay)
    }
    expect(verdict.state).toBe(state);
  });

  it('follows a Set Chunk Size from the encoder (OBS sends 4096)', () => {
    const setChunk = Buffer.alloc(4);
    setChunk.writeUInt32BE(4096);
    const big = (name: string, ...args: Buffer[]) =>
      chunks(20, Buffer.concat([amfString(name), amfNumber(1), ...args]), 4096);
    const verdict = read(
      HANDSHAKE,
      chunks(1, setChunk),
      big('connect', amfObject({ app: 'live', pad: 'x'.repeat(1000) })),
      big('publish', AMF_NULL, amfString(KEY), amfString('live')),
    );
    expect(verdict.state).toBe('published');
  });

  it('takes one publisher at a time: a second connection is closed at once', async () => {
    const upstream = await freePort(); // nothing listens there: the first connection waits in its retries
    const port = await freePort();
    const refused: string[] = [];
    const gate = await startRtmpGate({
      host: '127.0.0.1',
      port,
      key: KEY,
      upstreamPort: () => upstream,
      onRefused: (why) => refused.push(why),
    });
    try {
      const first = connect(port, '127.0.0.1');
      await new Promise((r) => first.once('connect', r));
      await new Promise((r) => setTimeout(r, 100));
      const second = connect(port, '127.0.0.1');
      const closed = await new Promise<boolean>((r) => {
        second.once('close', () => r(true));
        setTimeout(() => r(false), 2000);
      });
      expect(closed).toBe(true);
      first.destroy();
    } finally {
      await gate.close();
    }
  });

  it('closes a connection that never reaches its publish command (a stranger holding the one slot)', async () => {
    // ffmpeg stands in as the upstream listener: a plain TCP server that takes the relay's connection.
    const upstream = createServer((socket) => socket.on('error', () => {}).resume());
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const port = await freePort();
    const refused: string[] = [];
    const gate = await startRtmpGate({
      host: '127.0.0.1',
      port,
      key: KEY,
      upstreamPort: () => (upstream.address() as { port: number }).port,
      onRefused: (why) => refused.push(why),
      verifyTimeoutMs: 300,
    });
    try {
      const idle = connect(port, '127.0.0.1');
      idle.write(HANDSHAKE.subarray(0, 1537)); // C0 + C1, then nothing
      const closed = await new Promise<boolean>((r) => {
        idle.once('close', () => r(true));
        setTimeout(() => r(false), 3000);
      });
      expect(closed).toBe(true);
      expect(refused).toEqual(['no publish in time']);
    } finally {
      await gate.close();
      await new Promise((r) => upstream.close(r));
    }
  });
});
