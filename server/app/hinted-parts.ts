import type { AppContext } from './context.ts';
import { llStateOf } from './ll-hls.ts';

// RFC 8216bis section 6.2.6: a request for the part a playlist announces with EXT-X-PRELOAD-HINT, before it exists,
// is held until it is written and answered then; any other absent file is 404 at once. The announcing playlist is
// the rendition's `index.m3u8` beside the part (what `hls-gate live --low-latency` writes).

/** The rendition playlist that may announce a part at `key`. */
const RENDITION_PLAYLIST = 'index.m3u8';

/** Waits for `key` when the playlist beside it hints it: 'written', 'timeout', or 'absent' (not hinted, or gone). */
export async function awaitHintedPart(
  ctx: AppContext,
  key: string,
  signal: AbortSignal,
  holder: string,
): Promise<'written' | 'timeout' | 'absent'> {
  const slash = key.lastIndexOf('/');
  if (!ctx.holds || !ctx.partHolds || slash < 0 || key.endsWith('.m3u8')) return 'absent';
  const playlist = await ctx.holds.hold(
    `${key.slice(0, slash)}/${RENDITION_PLAYLIST}`,
    () => 'ready',
    () => 0,
  );
  if (typeof playlist !== 'object' || !('version' in playlist)) return 'absent';
  const state = llStateOf(playlist.version);
  if (state.ended || state.hint !== key.slice(slash + 1)) return 'absent';
  const waitMs = 3 * Math.max(1, state.targetDuration) * 1000;
  const part = await ctx.partHolds.hold(
    key,
    (look) => (look.meta ? 'ready' : 'wait'),
    () => waitMs,
    signal,
    holder,
  );
  if (typeof part === 'object' && 'version' in part) return 'written';
  return part === 'timeout' ? 'timeout' : 'absent';
}
