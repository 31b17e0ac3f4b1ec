// Real WebSocket upstreams for the gateway tests: `ws` servers on loopback that echo, answer the upgrade with an
// error, or never answer it; each records the upgrade requests it got.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

export interface WsUpstream {
  port: number;
  server: Server;
  wss: WebSocketServer;
  /** Headers of every upgrade request received, in order. */
  upgrades: Array<{ url: string; headers: IncomingHttpHeaders }>;
  /** Server-side sockets open now. */
  sockets: Set<WebSocket>;
  close: () => Promise<void>;
}

export interface WsUpstreamOptions {
  perMessageDeflate?: boolean;
  /** What to do with a connection (default: echo every message with its type). */
  onConnection?: (ws: WebSocket, url: string) => void;
}

/**
 * `/status/<n>` answers the upgrade with that status; `/hang` never answers; anything else is upgraded. Protocols:
 * the first offered one is chosen.
 */
export async function startWsUpstream(opts: WsUpstreamOptions = {}): Promise<WsUpstream> {
  const upgrades: WsUpstream['upgrades'] = [];
  const sockets = new Set<WebSocket>();
  const raw = new Set<Socket>();
  const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('plain http\n'));
  server.on('connection', (s: Socket) => {
    raw.add(s);
    s.on('close', () => raw.delete(s));
  });
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: opts.perMessageDeflate ?? false,
    handleProtocols: (offered) => [...offered][0] ?? false,
  });
  server.on('upgrade', (req, socket, head) => {
    const url = req.url ?? '/';
    upgrades.push({ url, headers: req.headers });
    socket.on('error', () => {});
    const status = /^\/status\/(\d+)/.exec(url);
    if (status !== null) {
      socket.end(`HTTP/1.1 ${status[1]} Refused\r\ncontent-type: text/plain\r\ncontent-length: 2\r\nconnection: close\r\n\r\nno`);
      return;
    }
    if (url.startsWith('/hang')) return;
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      ws.on('close', () => sockets.delete(ws));
      ws.on('error', () => {});
      if (opts.onConnection) opts.onConnection(ws, url);
      else ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.address() as AddressInfo).port,
    server,
    wss,
    upgrades,
    sockets,
    close: () =>
      new Promise<void>((resolve) => {
        for (const ws of sockets) ws.terminate();
        for (const s of raw) s.destroy();
        wss.close();
        server.close(() => resolve());
      }),
  };
}
