import type { PackageFailure } from '../../packager/errors.ts';

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

/** Why an upload body was refused; nothing of it is kept. */
export type UploadRefusal =
  'hash-mismatch' | 'too-large' | 'over-quota' | 'not-a-video' | 'incomplete' | 'length-required';

export type UploadResult = { ok: true; bytes: number } | { ok: false; reason: UploadRefusal };

/** Why packaging an upload failed: a code and a sentence safe to show the uploader (never a path or a tool's words). */
export type UploadFailure = { code: PackageFailure | 'interrupted'; reason: string };

/** Where an upload stands: received, being packaged (with a percentage), published, or failed with a code. */
export type UploadStatus =
  | { status: 'uploaded' }
  | { status: 'packaging'; percent: number }
  | { status: 'ready' }
  | ({ status: 'failed' } & UploadFailure);

/** Who holds an upload ID: `admin`, or `sub:<the uploader token's sub>`. */
export type UploadOwner = string;

export interface Reservation {
  owner: UploadOwner;
  /** ms since the epoch: until then (or once a body was claimed) nobody else may take the ID. */
  expiresAt: number;
}

/** An uploader's uploads that are not finished: reserved and unexpired, or received and not yet published. */
export interface PendingUploads {
  count: number;
  /** Bytes of their received sources. */
  bytes: number;
}

/**
 * Where uploaded sources land (Node: a hidden folder of MEDIA_DIR; Workers: R2): an ID reserved by one owner,
 * exactly one body claimed per ID, streamed and checked against the declared SHA-256 while it arrives, kept only
 * when complete and correct.
 */
export interface UploadSink {
  /**
   * Reserves `videoId` for `owner` until `expiresAt` (renewed when the owner asks again): `taken` when another owner
   * holds it (an unexpired reservation, or any body received under it).
   */
  reserve(videoId: string, reservation: Reservation, now: number): Promise<'reserved' | 'taken'>;
  /** Who reserved the ID, or null. */
  reservation(videoId: string): Promise<Reservation | null>;
  /** The owner's unfinished uploads (for the per-uploader limits). */
  pending(owner: UploadOwner, now: number): Promise<PendingUploads>;
  /** Takes the one body slot of an ID: true for exactly one caller, whatever the concurrency. */
  claim(videoId: string): Promise<boolean>;
  /** Gives the body slot back when the claimed body was refused before it was read. */
  release(videoId: string): Promise<void>;
  /** Stores the body of a claimed ID; a refused body releases the claim and leaves nothing. */
  receive(
    videoId: string,
    body: ReadableStream<Uint8Array>,
    expect: { sha256: string; maxBytes: number; length: number | null },
  ): Promise<UploadResult>;
  /** Where the upload stands, or null when nothing was received under this ID. */
  status(videoId: string): Promise<UploadStatus | null>;
  /** The SHA-256 of the source accepted under this ID, if any (a retry of the same body is answered, not re-read). */
  acceptedHash(videoId: string): Promise<string | null>;
  /** Whether `bytes` more fit above the free-space floor (local disk; a platform without a floor omits it). */
  hasRoom?(bytes: number): Promise<boolean>;
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
  /**
   * Optional: calls `onChange` whenever the object at `key` may have changed (created, replaced, removed) until the
   * returned function is called; null when the key's folder does not exist. Local disk has it (inotify); a gateway
   * whose storage lacks it cannot hold blocking playlist reloads (app/blocking-reload.ts) and serves low-latency
   * playlists for polling instead.
   */
  watch?(key: string, onChange: () => void): (() => void) | null;
  /** Metadata, or null when the object does not exist. */
  head(key: string): Promise<ObjectMeta | null>;
  /** The object's bytes (optionally one range, already validated against `size`), or null when absent. */
  get(key: string, range?: ByteRange): Promise<StoredObject | null>;
}
