import { createServer, type AddressInfo } from 'node:net';

/** A free loopback port, for servers whose own configuration must name their port before they listen. */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}
