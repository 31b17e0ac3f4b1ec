// A stand-in for a Kubernetes Service in front of controller replicas' stream ports: each accepted TCP connection
// goes to the first port in `ports` that accepts it (as a Service stops sending to a pod that is gone). A proxy
// pointed at the relay is, in effect, pointed at all those replicas in that order. close() ends every connection.
import { once } from 'node:events';
import { createConnection, createServer, type AddressInfo, type Socket } from 'node:net';

export async function startServiceRelay(ports: readonly number[]): Promise<{ port: number; close: () => void }> {
  const sockets = new Set<Socket>();
  const track = (s: Socket): Socket => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    return s;
  };
  const connectFirst = (i: number, client: Socket): void => {
    if (i >= ports.length) return void client.destroy();
    const upstream = track(createConnection(ports[i] as number, '127.0.0.1'));
    upstream.once('error', () => connectFirst(i + 1, client));
    upstream.once('connect', () => {
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
  };
  const server = createServer((client) => connectFirst(0, track(client)));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

