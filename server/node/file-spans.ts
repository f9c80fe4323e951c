// A response body that is a byte span of a file the disk storage opened and checked. The app only sees a lazy web
// stream (it stays runtime-agnostic); the Node server looks the stream up here and moves the bytes itself
// (file-responses.ts). The stream still owns the descriptor: cancelling it closes the file.

export interface FileSpan {
  /** The open, checked descriptor. */
  fd: number;
  offset: number;
  length: number;
  /** The file's real path, as the containment check saw it, and the real MEDIA_DIR it lies in. */
  path: string;
  root: string;
}

const spans = new WeakMap<ReadableStream<Uint8Array>, FileSpan>();

export function markFileSpan(body: ReadableStream<Uint8Array>, span: FileSpan): ReadableStream<Uint8Array> {
  spans.set(body, span);
  return body;
}

/** The span behind a response body, if the body is one (and is still unread). */
export function fileSpanOf(body: ReadableStream<Uint8Array> | null): FileSpan | undefined {
  if (!body || body.locked) return undefined;
  return spans.get(body);
}
