// The client half of a handshake in parsed mode: `ws` answers the client's upgrade (its Sec-WebSocket-Accept, the
// protocol the upstream chose) once the upstream is open. One WebSocketServer per message size limit (a table has few),
// created without a server of its own or client tracking: the registry tracks connections.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';

interface Pending {
  protocol: string | false;
  headers: string[];
}

/** What the 'headers' and handleProtocols hooks read for the request being answered. */
const pending = new WeakMap<IncomingMessage, Pending>();

export class ClientHandshakes {
  readonly #servers = new Map<number, WebSocketServer>();

  /** Completes the client's handshake with `protocol` (or none) and extra response headers ("name: value" lines). */
  accept(req: IncomingMessage, socket: Duplex, head: Buffer, maxPayload: number, protocol: string | false, headers: string[], done: (ws: WebSocket) => void): void {
    pending.set(req, { protocol, headers });
    this.#server(maxPayload).handleUpgrade(req, socket, head, done);
  }

  #server(maxPayload: number): WebSocketServer {
    let server = this.#servers.get(maxPayload);
    if (server === undefined) {
      server = new WebSocketServer({
        noServer: true,
        clientTracking: false,
        perMessageDeflate: false,
        maxPayload,
        handleProtocols: (_offered, req) => pending.get(req)?.protocol ?? false,
      });
      server.on('headers', (lines, req) => {
        const extra = pending.get(req);
        if (extra !== undefined) for (const line of extra.headers) lines.push(line);
      });
      this.#servers.set(maxPayload, server);
    }
    return server;
  }

  close(): void {
    for (const server of this.#servers.values()) server.close();
    this.#servers.clear();
  }
}
