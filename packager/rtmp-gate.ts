import { createServer, connect, type Server, type Socket } from 'node:net';
import { timingSafeEqual } from 'node:crypto';

// The stream key check in front of ffmpeg's RTMP listener. ffmpeg's listener (`-rtmp_listen 1`) takes any
// publisher: it only logs a mismatched application name and never looks at the stream name, so the secret that
// OBS calls the stream key would not be checked by anyone. This gate listens where encoders connect, relays the
// connection to ffmpeg on loopback, and reads what the encoder sends until its `publish` command: a stream name
// that is not the key (or a `releaseStream`/`FCPublish` naming another stream, a `play`, media before a publish)
// closes both sides before any media reaches ffmpeg. One publisher at a time; every other connection is closed at
// once. Memory and time before the check are bounded (MAX_UNVERIFIED_BYTES, VERIFY_TIMEOUT_MS).
//
// What is read, from Adobe's RTMP specification 1.0 (https://rtmp.veriskope.com/docs/spec/): the handshake's C0, C1
// and C2 (1 + 1536 + 1536 bytes, section 5.2), then chunks (section 5.3.1: basic header with format and chunk stream
// ID, message header of 11, 7, 3 or 0 bytes, extended timestamp), the client's Set Chunk Size (section 5.4.1), and
// AMF0 command messages (type 20; type 17 is AMF3-wrapped AMF0 with a leading 0 byte) decoded as far as the command
// name and its first string argument (section 7.2; AMF0: https://rtmp.veriskope.com/pdf/amf0-file-format-specification.pdf).

const HANDSHAKE_BYTES = 1 + 1536 + 1536;
/** Bytes an encoder may send before its publish command is checked (OBS sends about 1 KB). */
const MAX_UNVERIFIED_BYTES = 64 * 1024;
const VERIFY_TIMEOUT_MS = 10_000;
const MEDIA_TYPES = new Set([8, 9, 15, 18, 22]);

interface ChunkStream {
  timestampField: number;
  length: number;
  type: number;
  body: Buffer[];
  received: number;
}

/** What the reader decided: keep reading, the key matched (relay freely now), or refuse (with why, for the log). */
type Verdict = { state: 'reading' } | { state: 'published' } | { state: 'refused'; why: string };

/** Reads the client side of one RTMP connection up to its publish command. */
export class PublishReader {
  #buffer = Buffer.alloc(0);
  #handshake = HANDSHAKE_BYTES;
  #chunkSize = 128;
  #streams = new Map<number, ChunkStream>();
  readonly #key: Buffer;

  constructor(key: string) {
    this.#key = Buffer.from(key);
  }

  push(data: Buffer): Verdict {
    this.#buffer = Buffer.concat([this.#buffer, data]);
    if (this.#handshake > 0) {
      const skip = Math.min(this.#handshake, this.#buffer.length);
      this.#handshake -= skip;
      this.#buffer = this.#buffer.subarray(skip);
    }
    for (;;) {
      const chunk = this.#readChunk();
      if (chunk === null) return { state: 'reading' };
      if (chunk !== undefined) {
        const verdict = this.#onMessage(chunk.type, chunk.body);
        if (verdict.state !== 'reading') return verdict;
      }
    }
  }

  /** One chunk off the buffer: a whole message when it completes one, undefined when not yet, null when short. */
  #readChunk(): { type: number; body: Buffer } | undefined | null {
    const b = this.#buffer;
    if (b.length < 1) return null;
    const fmt = b[0]! >> 6;
    let csid = b[0]! & 0x3f;
    let at = 1;
    if (csid === 0) {
      if (b.length < 2) return null;
      csid = 64 + b[1]!;
      at = 2;
    } else if (csid === 1) {
      if (b.length < 3) return null;
      csid = 64 + b[1]! + b[2]! * 256;
      at = 3;
    }
    const headerBytes = [11, 7, 3, 0][fmt]!;
    if (b.length < at + headerBytes) return null;
    const previous = this.#streams.get(csid);
    const stream: ChunkStream = previous ?? { timestampField: 0, length: 0, type: 0, body: [], received: 0 };
    if (fmt < 3) stream.timestampField = b.readUIntBE(at, 3);
    if (fmt < 2) {
      stream.length = b.readUIntBE(at + 3, 3);
      stream.type = b[at + 6]!;
    }
    at += headerBytes;
    if (stream.timestampField === 0xffffff) at += 4;
    if (stream.length > MAX_UNVERIFIED_BYTES) throw new RangeError('message too large');
    const take = Math.min(this.#chunkSize, stream.length - stream.received);
    if (b.length < at + take) return null;
    if (stream.received === 0) stream.body = [];
    stream.body.push(b.subarray(at, at + take));
    stream.received += take;
    this.#streams.set(csid, stream);
    this.#buffer = b.subarray(at + take);
    if (stream.received < stream.length) return undefined;
    stream.received = 0;
    return { type: stream.type, body: Buffer.concat(stream.body) };
  }

  #onMessage(type: number, body: Buffer): Verdict {
    if (type === 1 && body.length >= 4) this.#chunkSize = Math.max(1, body.readUInt32BE(0) & 0x7fffffff);
    if (MEDIA_TYPES.has(type)) return { state: 'refused', why: 'media before a publish' };
    if (type !== 20 && type !== 17) return { state: 'reading' };
    const command = readCommand(type === 17 ? body.subarray(1) : body);
    if (!command) return { state: 'refused', why: 'an unreadable command' };
    switch (command.name) {
      case 'releaseStream':
      case 'FCPublish':
      case 'publish': {
        const name = (command.stream ?? '').split('?')[0]!;
        const given = Buffer.from(name);
        const ok = given.length === this.#key.length && timingSafeEqual(given, this.#key);
        if (!ok) return { state: 'refused', why: 'a wrong stream key' };
        return command.name === 'publish' ? { state: 'published' } : { state: 'reading' };
      }
      case 'play':
        return { state: 'refused', why: 'a play request (this endpoint only takes a publisher)' };
      default:
        return { state: 'reading' };
    }
  }
}

/** An AMF0 command's name and its first string argument after the transaction ID and command object. */
function readCommand(b: Buffer): { name: string; stream?: string } | null {
  let at = 0;
  const string = (): string | null => {
    if (b[at] !== 0x02 || at + 3 > b.length) return null;
    const n = b.readUInt16BE(at + 1);
    if (at + 3 + n > b.length) return null;
    const s = b.toString('utf8', at + 3, at + 3 + n);
    at += 3 + n;
    return s;
  };
  const name = string();
  if (name === null) return null;
  if (b[at] !== 0x00 || at + 9 > b.length) return { name };
  at += 9; // the transaction ID (a number)
  // The command object: null here for the commands that name a stream (connect's object is skipped by not reading on).
  if (b[at] !== 0x05) return { name };
  at += 1;
  const stream = string();
  return stream === null ? { name } : { name, stream };
}

/** The gate on `listen` relaying to ffmpeg's listener on `upstreamPort` (loopback). */
export interface RtmpGate {
  server: Server;
  close(): Promise<void>;
}

export function startRtmpGate(options: {
  host: string;
  port: number;
  key: string;
  upstreamPort: () => number;
  /** Why a connection was refused (never what it sent). */
  onRefused?: (why: string) => void;
  /** How long an encoder has to reach its publish command; default VERIFY_TIMEOUT_MS. */
  verifyTimeoutMs?: number;
}): Promise<RtmpGate> {
  let busy = false;
  const server = createServer((client) => {
    if (busy) return client.destroy();
    busy = true;
    void relay(client, options).finally(() => (busy = false));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () =>
      resolve({ server, close: () => new Promise<void>((done) => server.close(() => done())) }),
    );
  });
}

async function relay(
  client: Socket,
  options: { key: string; upstreamPort: () => number; onRefused?: (why: string) => void; verifyTimeoutMs?: number },
): Promise<void> {
  const reader = new PublishReader(options.key);
  const upstream = await connectWithRetry(options.upstreamPort());
  if (!upstream) return void client.destroy();
  let verified = false;
  let seen = 0;
  const refuse = (why: string) => {
    options.onRefused?.(why);
    client.destroy();
    upstream.destroy();
  };
  const timer = setTimeout(() => refuse('no publish in time'), options.verifyTimeoutMs ?? VERIFY_TIMEOUT_MS);
  client.on('data', (data: Buffer) => {
    if (verified) return;
    seen += data.length;
    let verdict: Verdict;
    try {
      verdict =
        seen > MAX_UNVERIFIED_BYTES ? { state: 'refused', why: 'too much before a publish' } : reader.push(data);
    } catch {
      verdict = { state: 'refused', why: 'an unreadable stream' };
    }
    if (verdict.state === 'refused') return refuse(verdict.why);
    upstream.write(data);
    if (verdict.state === 'published') {
      verified = true;
      clearTimeout(timer);
      client.pipe(upstream);
    }
  });
  upstream.pipe(client);
  await new Promise<void>((done) => {
    const end = () => {
      clearTimeout(timer);
      client.destroy();
      upstream.destroy();
      done();
    };
    client.once('close', end);
    upstream.once('close', end);
    client.on('error', () => {});
    upstream.on('error', () => {});
  });
}

/** ffmpeg may be between runs (a reconnecting encoder): try for a few seconds. */
async function connectWithRetry(port: number): Promise<Socket | null> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const socket = await new Promise<Socket | null>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => resolve(s));
      s.once('error', () => resolve(null));
    });
    if (socket) return socket;
    await new Promise((r) => setTimeout(r, 250));
  }
  return null;
}
