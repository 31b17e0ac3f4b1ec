// Real upstream servers on 127.0.0.1 for end-to-end tests: echo, slow, resetting, and a port that refuses.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface Upstream {
  name: string;
  port: number;
  server: Server;
  /** Requests received so far. */
  hits: () => number;
  close: () => Promise<void>;
}

export interface EchoReply {
  upstream: string;
  method: string;
  path: string;
  query: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  bodyBytes: number;
}

/** Starts `handler` on an ephemeral loopback port; close() also ends keep-alive connections. */
export async function startUpstream(name: string, handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Upstream> {
  let hits = 0;
  const server = createServer((req, res) => {
    hits++;
    req.on('error', () => {});
    res.on('error', () => {});
    handler(req, res);
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    name,
    port: (server.address() as AddressInfo).port,
    server,
    hits: () => hits,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * Replies with what it received as JSON: method, path, query, headers, body (the body only when ≤ 64 KiB;
 * bodyBytes always). `?bytes=N` instead streams N bytes back (a large download).
 */
export function startEcho(name: string): Promise<Upstream> {
  return startUpstream(name, (req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const query = q === -1 ? '' : url.slice(q + 1);
    const download = new URLSearchParams(query).get('bytes');
    if (download !== null) {
      streamBytes(res, Number(download), { 'x-upstream': name });
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let bytes = 0;
    req.on('data', (c: Buffer) => {
      bytes += c.length;
      if (bytes <= 65_536) chunks.push(c);
    });
    req.on('end', () => {
      const reply: EchoReply = {
        upstream: name,
        method: req.method ?? '',
        path: q === -1 ? url : url.slice(0, q),
        query,
        headers: req.headers,
        body: bytes <= 65_536 ? Buffer.concat(chunks).toString('utf8') : '',
        bodyBytes: bytes,
      };
      const body = JSON.stringify(reply);
      res.writeHead(200, {
        'content-type': 'application/json',
        'x-upstream': name,
        // Hop-by-hop headers the gateway must not pass back to the client.
        'keep-alive': 'timeout=5',
        'x-hop': 'secret',
        connection: 'keep-alive, x-hop',
        'set-cookie': ['a=1', 'b=2'],
      });
      res.end(body);
    });
  });
}

/** Writes `total` bytes in 64 KiB chunks, respecting drain; returns how many were written so far (live). */
export function streamBytes(res: ServerResponse, total: number, headers: Record<string, string> = {}): { written: () => number } {
  let written = 0;
  const chunk = Buffer.alloc(65_536, 0x61);
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(total), ...headers });
  const pump = (): void => {
    while (written < total) {
      const n = Math.min(chunk.length, total - written);
      written += n;
      if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
        res.once('drain', pump);
        return;
      }
    }
    res.end();
  };
  pump();
  return { written: () => written };
}

/**
 * Slow upstream: `/delay/<ms>` waits before sending headers, `/dribble/<n>/<ms>` sends headers at once then
 * one byte every <ms>, n times. Anything else answers at once. Tracks open requests so a test can see
 * the gateway let go of them.
 */
export async function startSlow(name: string): Promise<Upstream & { open: () => number }> {
  let open = 0;
  const timers = new Set<NodeJS.Timeout>();
  const upstream = await startUpstream(name, (req, res) => {
    open++;
    res.on('close', () => open--);
    req.resume();
    const [, kind, a, b] = (req.url ?? '/').split('?')[0]?.split('/') ?? [];
    if (kind === 'delay') {
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (!res.destroyed) res.writeHead(200, { 'content-type': 'text/plain', 'x-upstream': name }).end(`slow ${name}`);
      }, Number(a));
      timers.add(timer);
      res.on('close', () => clearTimeout(timer));
    } else if (kind === 'dribble') {
      let left = Number(a);
      res.writeHead(200, { 'content-type': 'text/plain' });
      const timer = setInterval(() => {
        if (res.destroyed) return clearInterval(timer);
        res.write('.');
        if (--left <= 0) {
          clearInterval(timer);
          res.end();
        }
      }, Number(b));
      res.on('close', () => clearInterval(timer));
    } else {
      res.writeHead(200, { 'content-type': 'text/plain', 'x-upstream': name }).end(`fast ${name}`);
    }
  });
  const close = upstream.close;
  return {
    ...upstream,
    open: () => open,
    close: async () => {
      for (const t of timers) clearTimeout(t);
      await close();
    },
  };
}

/** An upstream that accepts the connection and resets it as soon as a request arrives. */
export async function startResetting(name: string): Promise<{ name: string; port: number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createNetServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    socket.once('data', () => socket.resetAndDestroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    name,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A loopback port nothing listens on (bound, then closed), so connecting to it is refused. */
export async function refusedPort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
