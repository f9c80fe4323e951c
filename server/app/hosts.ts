import { Lru } from '../core/lru.ts';

// Which hosts may ever appear in a policy's Resource. A grant names its media origin, so a host taken from a request
// must be a plain host name (or IP) and port: never `*`, `?`, spaces or anything else a wildcard could widen.

const LABEL = '[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?';
const HOST = new RegExp(`^(?:\\[[0-9a-f:.]+\\]|${LABEL}(?:\\.${LABEL})*)(?::(\\d{1,5}))?$`, 'i');

/** `host` or `host:port` with a real port (1-65535): what a URL's `host` may be before it reaches a policy. */
export function isPlainHost(host: string): boolean {
  const m = HOST.exec(host);
  if (!m || host.length > 260) return false;
  return m[1] === undefined || (Number(m[1]) >= 1 && Number(m[1]) <= 65535);
}

/** Does a request's host (`name` or `name:port`) match an allow-list entry? An entry without a port allows any. */
export function hostAllowed(allowed: readonly string[], host: string): boolean {
  const h = host.toLowerCase();
  const name = h.startsWith('[') ? h.slice(0, h.indexOf(']') + 1) : h.split(':')[0]!;
  return allowed.some((a) => a === h || a === name);
}

/**
 * The public media origin for a request: MEDIA_BASE_URL when set; otherwise the request's own origin, only when its
 * host is plain and (outside the demo) on the MEDIA_HOSTS allow-list. null means "refuse the request".
 */
export function createMediaOrigin(config: {
  mediaBaseUrl?: string;
  mediaHosts: readonly string[];
}): (requestUrl: string) => string | null {
  const fixed = config.mediaBaseUrl;
  if (fixed) return () => fixed;
  const allowed = config.mediaHosts;
  const originOf = (requestUrl: string): string | null => {
    const url = new URL(requestUrl);
    if (!isPlainHost(url.host)) return null;
    if (allowed.length > 0 && !hostAllowed(allowed, url.host)) return null;
    return url.origin;
  };
  // Every request of one origin gets the same answer: it is worked out once per scheme and authority (the text before
  // the path's first "/", which holds the whole authority: https://url.spec.whatwg.org/#authority-state), in a
  // bounded cache, so made-up Host headers cannot grow it.
  const known = new Lru<string | null>(256, 64 * 1024);
  return (requestUrl) => {
    const slash = requestUrl.indexOf('/', requestUrl.indexOf('//') + 2);
    const key = slash < 0 ? requestUrl : requestUrl.slice(0, slash);
    let origin = known.get(key);
    if (origin === undefined) known.set(key, (origin = originOf(requestUrl)));
    return origin;
  };
}
