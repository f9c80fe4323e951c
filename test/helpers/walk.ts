import { discover, type HlsRequest } from '../../cli/fetch-segments/discover.ts';

/** Walks a stream like a player: every playlist, segment, init segment and key, via the given fetch. */
export async function walkStream(
  fetchUrl: (url: string, req: HlsRequest) => Promise<Response>,
  playlistUrl: string,
): Promise<{ req: HlsRequest; res: Response; body: Uint8Array }[]> {
  const results: { req: HlsRequest; res: Response; body: Uint8Array }[] = [];
  const queue: HlsRequest[] = [{ url: playlistUrl, kind: 'playlist' }];
  while (queue.length > 0) {
    const req = queue.shift()!;
    const res = await fetchUrl(req.url, req);
    const body = new Uint8Array(await res.arrayBuffer());
    results.push({ req, res, body });
    if (req.kind === 'playlist' && res.ok) queue.push(...discover(new TextDecoder().decode(body), req.url));
  }
  return results;
}
