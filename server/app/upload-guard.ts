import type { UploadRefusal } from './storage.ts';
import { HlsGateError } from '../core/errors.ts';
import { SNIFF_BYTES, sniffContainer } from './media-container.ts';

// Checks an upload while it streams, before a byte is kept: its leading bytes must be an allowed audio or video
// container (media-container.ts: a playlist, a manifest or a text file is refused however it is labelled or
// prefixed), and it is cut off the moment it passes its size limit. Web-standard (a TransformStream), so Node and
// Workers share it.

export class UploadError extends HlsGateError<UploadRefusal> {
  override readonly name = 'UploadError';
  constructor(code: UploadRefusal) {
    super(code, code);
  }
}

/** Passes the body through, refusing a non-media start and anything past `maxBytes` (with `over` as the reason). */
export function uploadGuard(
  maxBytes: number,
  over: UploadRefusal = 'too-large',
): TransformStream<Uint8Array, Uint8Array> {
  let seen = 0;
  let head: Uint8Array | null = new Uint8Array(0);
  return new TransformStream({
    transform(chunk, controller) {
      seen += chunk.byteLength;
      if (seen > maxBytes) throw new UploadError(over);
      if (head) {
        // Hold the first bytes until the container can be judged (the first chunks may be tiny).
        const joined = new Uint8Array(head.length + chunk.length);
        joined.set(head);
        joined.set(chunk, head.length);
        if (joined.length < SNIFF_BYTES) {
          head = joined;
          return;
        }
        if (!sniffContainer(joined.subarray(0, SNIFF_BYTES))) throw new UploadError('not-a-video');
        head = null;
        controller.enqueue(joined);
        return;
      }
      controller.enqueue(chunk);
    },
    flush(controller) {
      if (head) {
        if (!sniffContainer(head)) throw new UploadError('not-a-video');
        controller.enqueue(head);
      }
    },
  });
}
