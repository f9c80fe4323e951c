// A small cookie jar that honours Domain, Path, Secure and Max-Age/Expires like a browser (RFC 6265 section 5),
// so cookies from an access call reach exactly the media URLs a browser would send them to.

interface StoredCookie {
  name: string;
  value: string;
  domain: string;
  hostOnly: boolean;
  path: string;
  secure: boolean;
  expiresMs: number;
}

export class CookieJar {
  #cookies: StoredCookie[] = [];
  constructor(private readonly now: () => number = Date.now) {}

  /** Stores the Set-Cookie headers of a response from `url`. */
  store(url: string, setCookies: string[]): void {
    const u = new URL(url);
    for (const header of setCookies) {
      const [pair, ...attrs] = header.split(';').map((s) => s.trim());
      const eq = pair!.indexOf('=');
      if (eq <= 0) continue;
      const c: StoredCookie = {
        name: pair!.slice(0, eq),
        value: pair!.slice(eq + 1),
        domain: u.hostname,
        hostOnly: true,
        path: u.pathname.replace(/\/[^/]*$/, '') || '/',
        secure: false,
        expiresMs: Infinity,
      };
      for (const attr of attrs) {
        const [k, v = ''] = attr.split('=');
        const key = k!.toLowerCase();
        if (key === 'domain' && v) {
          const d = v.replace(/^\./, '').toLowerCase();
          if (u.hostname !== d && !u.hostname.endsWith(`.${d}`)) continue; // a browser rejects a foreign domain
          c.domain = d;
          c.hostOnly = false;
        } else if (key === 'path' && v.startsWith('/')) c.path = v;
        else if (key === 'secure') c.secure = true;
        else if (key === 'max-age') c.expiresMs = this.now() + Number(v) * 1000;
        else if (key === 'expires' && c.expiresMs === Infinity) c.expiresMs = Date.parse(v);
      }
      this.#cookies = this.#cookies.filter((o) => !(o.name === c.name && o.domain === c.domain && o.path === c.path));
      if (c.expiresMs > this.now()) this.#cookies.push(c);
    }
  }

  /** The Cookie header a browser would send to `url`, or undefined. Longer paths first (RFC 6265 5.4). */
  header(url: string): string | undefined {
    const u = new URL(url);
    const host = u.hostname.toLowerCase();
    const matching = this.#cookies.filter((c) => {
      if (c.expiresMs <= this.now()) return false;
      if (c.secure && u.protocol !== 'https:') return false;
      if (c.hostOnly ? host !== c.domain : host !== c.domain && !host.endsWith(`.${c.domain}`)) return false;
      return u.pathname === c.path || u.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`);
    });
    matching.sort((a, b) => b.path.length - a.path.length);
    return matching.length > 0 ? matching.map((c) => `${c.name}=${c.value}`).join('; ') : undefined;
  }

  get size(): number {
    return this.#cookies.length;
  }
}
