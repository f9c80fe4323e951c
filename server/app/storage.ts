// The storage port: where media bytes come from. Adapters (local disk on Node, R2 on Workers) only
// answer these two questions; Range, ETag/304 and HEAD are handled once in the HTTP layer
// (the unjs/h3 serve-static pattern). Keys are already-validated relative paths such as
// "ladder/720p/seg_00001.ts": adapters never see "..", a leading "/" or a backslash.

export interface ObjectMeta {
  /** Total size in bytes. */
  size: number;
  /** Strong ETag, quoted, e.g. "\"5f3a-1234\"". */
  etag: string;
  lastModified: Date;
}

export interface ByteRange {
  offset: number;
  length: number;
}

export interface StoredObject {
  meta: ObjectMeta;
  /**
   * The whole object, or exactly `range` when one was asked for. Streamed; an adapter may hand over a small
   * object (at most one stream chunk, e.g. a playlist) as bytes instead.
   */
  body: ReadableStream<Uint8Array> | Uint8Array;
}

/** Why an upload was refused; nothing of it is kept. */
export type UploadRefusal = 'hash-mismatch' | 'too-large' | 'not-a-video' | 'incomplete' | 'length-required';

export type UploadResult = { ok: true; bytes: number } | { ok: false; reason: UploadRefusal };

/** Where an upload stands: received, being packaged (with a percentage), published, or failed with a reason. */
export type UploadStatus = { status: 'uploaded' } | { status: 'packaging'; percent: number } | { status: 'ready' } | { status: 'failed'; reason: string };

/**
 * Where uploaded sources land (Node: a hidden folder of MEDIA_DIR): streamed, checked against the declared
 * SHA-256 while they arrive, kept only when complete and correct.
 */
export interface UploadSink {
  receive(videoId: string, body: ReadableStream<Uint8Array>, expect: { sha256: string; maxBytes: number; length: number | null }): Promise<UploadResult>;
  /** Where the upload stands, or null when nothing was uploaded under this ID. */
  status(videoId: string): Promise<UploadStatus | null>;
  /** The SHA-256 of the source accepted under this ID, if any (a retry of the same body is answered, not re-read). */
  acceptedHash(videoId: string): Promise<string | null>;
}

/** An object opened once: its metadata, then its bytes from the same open file (no second lookup). */
export interface OpenedObject {
  meta: ObjectMeta;
  /** The bytes (one range, or all); takes the object over and releases it when the body is done. */
  read(range?: ByteRange): Promise<StoredObject['body']>;
  /** Releases it without reading (304, 416, HEAD). */
  close(): Promise<void>;
}

export interface MediaStorage {
  /**
   * Optional: open once for both the headers and the body. Adapters where a lookup is expensive (local disk: open,
   * containment check, fstat) provide it; the HTTP layer then never looks an object up twice.
   */
  open?(key: string): Promise<OpenedObject | null>;
  /** Metadata, or null when the object does not exist. */
  head(key: string): Promise<ObjectMeta | null>;
  /** The object's bytes (optionally one range, already validated against `size`), or null when absent. */
  get(key: string, range?: ByteRange): Promise<StoredObject | null>;
}
