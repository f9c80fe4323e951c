import type { ByteRange, MediaStorage, ObjectMeta, StoredObject } from '../app/storage.ts';

// MediaStorage over an R2 bucket: keys are `<videoId>/<path>` as on disk. R2 does ranged reads itself
// (https://developers.cloudflare.com/r2/api/workers/workers-api-reference/#ranged-reads); ETag and 304 are
// handled once in app/http-file.ts like for every adapter.

function metaOf(object: R2Object): ObjectMeta {
  return { size: object.size, etag: object.httpEtag, lastModified: object.uploaded };
}

/** Media storage over an R2 bucket (keys `<videoId>/<path>`), for `createGateway` on Workers. */
export function createR2Storage(bucket: R2Bucket): MediaStorage {
  return {
    async head(key: string): Promise<ObjectMeta | null> {
      const object = await bucket.head(key);
      return object ? metaOf(object) : null;
    },
    async get(key: string, range?: ByteRange): Promise<StoredObject | null> {
      const object = await bucket.get(key, range ? { range: { offset: range.offset, length: range.length } } : {});
      if (!object) return null;
      return { meta: metaOf(object), body: object.body as ReadableStream<Uint8Array> };
    },
  };
}
