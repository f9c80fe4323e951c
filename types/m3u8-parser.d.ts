// The parts of m3u8-parser's manifest that hls-gate reads (the package ships no types).
declare module 'm3u8-parser' {
  export interface ByteRange {
    length: number;
    offset?: number;
  }
  export interface ManifestPart {
    uri: string;
    duration?: number;
    independent?: boolean;
  }
  export interface ManifestSegment {
    uri: string;
    /** LL-HLS EXT-X-PART lines before this segment's URI. */
    parts?: ManifestPart[];
    duration?: number;
    byterange?: ByteRange;
    key?: { method: string; uri?: string };
    map?: { uri: string; byterange?: ByteRange };
  }
  export interface ManifestPlaylist {
    uri: string;
    attributes?: Record<string, unknown>;
  }
  export interface MediaGroupEntry {
    uri?: string;
  }
  export interface Manifest {
    playlists?: ManifestPlaylist[];
    iFramePlaylists?: ManifestPlaylist[];
    mediaGroups?: Record<string, Record<string, Record<string, MediaGroupEntry>>>;
    segments?: ManifestSegment[];
    endList?: boolean;
    targetDuration?: number;
    mediaSequence?: number;
    /** LL-HLS: EXT-X-SERVER-CONTROL. */
    serverControl?: { canBlockReload?: boolean; canSkipUntil?: number; partHoldBack?: number };
    partInf?: { partTarget: number };
    /** LL-HLS: the segment being written (its parts so far) and EXT-X-PRELOAD-HINT. */
    preloadSegment?: { parts?: ManifestPart[]; preloadHints?: { type: string; uri: string }[] };
  }
  export class Parser {
    manifest: Manifest;
    push(chunk: string): void;
    end(): void;
  }
}
