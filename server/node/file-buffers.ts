import { ServerResponse, type IncomingMessage } from 'node:http';

// Buffers for file bytes on their way to a socket, reused once the socket has taken them. A new 200 KB buffer per
// segment costs more than the read into it (fresh pages from the allocator, then the collector): with one core,
// the gateway alone serves 200 KB segments ~1.3x faster reusing them (bench/serving.ts).
//
// A buffer goes back to the pool only when the response that ended with it has *finished* ('finish': the socket
// took every byte); a response that never finishes (the viewer left, the bytes were used another way) leaves its
// buffer to the collector. So a byte is never overwritten while a socket may still send it.

/** The size of every pooled buffer: the largest whole file read at once, and the chunk of a longer one. */
export const BUFFER_BYTES = 256 * 1024;
/** Buffers kept between bursts: at most 8 MB held while idle. */
const KEEP = 32;

const free: Buffer[] = [];
/** A view handed out -> the pooled buffer it belongs to. */
const leases = new WeakMap<Uint8Array, Buffer>();

/** The first `length` bytes (at most BUFFER_BYTES) of a reusable buffer, contents undefined. */
export function leaseBuffer(length: number): Buffer {
  if (length > BUFFER_BYTES) throw new RangeError(`at most ${BUFFER_BYTES} bytes`);
  return lend(free.pop() ?? Buffer.allocUnsafe(BUFFER_BYTES), length);
}

/** The first `length` bytes of a leased view, returned with it (the last, shorter piece of a longer file). */
export function shortenLease(view: Buffer, length: number): Buffer {
  const buffer = leases.get(view);
  return buffer ? lend(buffer, length) : view.subarray(0, length);
}

function lend(buffer: Buffer, length: number): Buffer {
  const view = buffer.subarray(0, length);
  leases.set(view, buffer);
  return view;
}

/**
 * The Node server's response class (http.createServer's `ServerResponse` option): a leased view it ends with goes
 * back to the pool once the response has finished.
 */
export class BufferReturningResponse<
  Request extends IncomingMessage = IncomingMessage,
> extends ServerResponse<Request> {
  override end(...args: unknown[]): this {
    const last = args[0];
    const buffer = last instanceof Uint8Array ? leases.get(last) : undefined;
    if (buffer) {
      leases.delete(last as Uint8Array); // one return per lease
      this.once('finish', () => {
        if (free.length < KEEP) free.push(buffer);
      });
    }
    // end() has three overloads that a spread cannot pick between; Reflect.apply calls it with this response as `this`.
    // eslint-disable-next-line @typescript-eslint/unbound-method
    return Reflect.apply(ServerResponse.prototype.end, this, args) as this;
  }
}

/** How many buffers wait in the pool (tests). */
export function pooledBuffers(): number {
  return free.length;
}
