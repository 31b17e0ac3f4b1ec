// Loopback ports: find a free one, and wait until a server accepts connections on it.
import { createServer, connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Started } from './child-processes.ts';

export const LOOPBACK = '127.0.0.1';

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, LOOPBACK, resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port from the OS');
  return address.port;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: LOOPBACK, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Resolves once `port` accepts; rejects if `owner` exits first or `timeoutMs` passes. */
export async function waitForPort(port: number, owner: Started, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (owner.child.exitCode !== null || owner.child.signalCode !== null) {
      throw new Error(`${owner.name} exited before listening on ${port}:\n${owner.output()}`);
    }
    if (await canConnect(port)) return;
    await sleep(50);
  }
  throw new Error(`${owner.name} did not listen on ${port} within ${timeoutMs} ms:\n${owner.output()}`);
}
