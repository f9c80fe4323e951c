// A response body that is a byte span of a file the disk storage opened and checked. The app only sees a lazy web
// stream (it stays runtime-agnostic); the Node server recognises the class and moves the bytes itself
// (file-responses.ts). The stream is the span (no side table, no second object): the disk storage alone decides
// which bodies are spans (fs-storage.ts, `handOff`), and the stream still owns the descriptor: cancelling it closes
// the file.

export class FileSpan extends ReadableStream<Uint8Array> {
  /** The open, checked descriptor. */
  readonly fd: number;
  readonly offset: number;
  readonly length: number;
  /** The file's real path, as the containment check saw it, and the real MEDIA_DIR it lies in. */
  readonly path: string;
  readonly root: string;

  constructor(
    source: UnderlyingDefaultSource<Uint8Array>,
    fd: number,
    offset: number,
    length: number,
    path: string,
    root: string,
  ) {
    // highWaterMark 0: nothing is read before the consumer asks (a handed-off span is never read as a stream).
    super(source, { highWaterMark: 0 });
    this.fd = fd;
    this.offset = offset;
    this.length = length;
    this.path = path;
    this.root = root;
  }
}
