// A free loopback port for a server a test starts a moment later, and may stop and start again on the same port.
// Picked at random *below* the kernel's ephemeral range (32768+ on Linux, like test/kube/control-plane.ts): a port
// the kernel hands out for `listen(0)` can just as well be handed to an outgoing connection between a stop and a
// restart. Two test files picking the same port remains possible but rare; callers retry a start that loses it.
import { createServer } from 'node:net';

const HOST = '127.0.0.1';

export function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, HOST, () => server.close(() => resolve(true)));
  });
}

/** A port in [10000, 32000) nobody listens on now, and none of `avoid`. */
export async function freeLoopbackPort(avoid: ReadonlySet<number> = new Set()): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const port = 10_000 + Math.floor(Math.random() * 22_000);
    if (!avoid.has(port) && (await canListen(port))) return port;
  }
  throw new Error('no free loopback port found in 100 tries');
}
