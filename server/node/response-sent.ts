import type { Context } from 'hono';
import type { HttpBindings } from '@hono/node-server';

/**
 * When a response has left the Node server, for the request log (app/log.ts): a ServerResponse closes once it has
 * been handed whole to the kernel, or when its connection goes first (the viewer left, a stalled connection was
 * dropped), and `writableFinished` tells the two apart
 * (https://nodejs.org/api/http.html#event-close_2, https://nodejs.org/api/stream.html#writablewritablefinished).
 * False when the request did not come through a Node server (`app.request()` in tests, a host app's own server).
 */
export function responseSent(c: Context, sent: (whole: boolean) => void): boolean {
  const out = (c.env as Partial<HttpBindings> | undefined)?.outgoing;
  if (!out || typeof out.once !== 'function') return false;
  if (out.writableFinished) {
    sent(true);
    return true;
  }
  out.once('close', () => sent(out.writableFinished));
  return true;
}
