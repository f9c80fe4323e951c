import { createServer } from 'node:net';

// Ports below the kernel's ephemeral range (Linux: 32768-60999): a server that listens on port 0, in this test
// file or in another one running in parallel, is never given one of these, so a port chosen here stays free until
// its server binds it. (Picking a port by binding port 0 and closing it raced exactly that way.)
const LOW = 20_000;
const HIGH = 32_000;

function tryListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** A free loopback port, for servers whose own configuration must name their port before they listen. */
export async function freePort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = LOW + Math.floor(Math.random() * (HIGH - LOW));
    if (await tryListen(port)) return port;
  }
  throw new Error('no free port found between 20000 and 32000');
}
