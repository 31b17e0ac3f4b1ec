// The controller's stream port: proxies connect over a WebSocket with the bearer token (401 at the upgrade
// without it), say which version they serve, get the current table at once when theirs differs, then every new
// version. Endpoint-only changes go out as endpoint updates against the version the proxy serves; a version equal to
// what a proxy already has is never sent. Every replica serves the stream, leader or not.
import { once } from 'node:events';
import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import type { RoutingTable } from '../../proxy/table/table-schema.ts';
import { decodeFrame, encodeText } from '../../proxy/table/stream-frames.ts';
import { proxyMessage, STREAM_SUBPROTOCOL, type FleetMessage } from '../../proxy/table/stream-protocol.ts';
import type { FleetTracker } from './fleet-tracker.ts';
import type { TokenCheck } from './stream-token.ts';
import { asEndpointUpdate, tableDelta } from './table-delta.ts';
import { encodeTable, type EncodedTable } from './table-encoding.ts';

export interface SnapshotStreamOptions {
  port: number;
  host?: string;
  /** Checked at every upgrade, so a rotated token applies to new connections at once. */
  token: TokenCheck;
  /** PEM certificate and key: the stream is served over TLS (wss). */
  tls?: { cert: Buffer; key: Buffer };
  fleet: FleetTracker;
  logger: Logger;
  /** Ping period; a proxy that has not answered the previous ping by the next one is dropped. */
  pingMs?: number;
}

/** Tables kept as objects, so proxies a few versions behind get a delta (or an endpoint update), not the whole table. */
const KEPT_DELTA_BASES = 4;

interface Peer {
  id: number;
  socket: WebSocket;
  remote: string;
  name: string | null;
  /** The version the proxy will serve once it has processed everything sent (null: unknown or none). */
  expected: string | null;
  /** The version it last confirmed serving. */
  serving: string | null;
  alive: boolean;
}

export class SnapshotStream {
  readonly #opts: SnapshotStreamOptions;
  readonly #log: Logger;
  readonly #server: Server;
  readonly #wss: WebSocketServer;
  readonly #peers = new Set<Peer>();
  readonly #tables = new Map<string, RoutingTable>();
  /** The newest table: what every proxy is brought to. */
  #target: RoutingTable | undefined;
  /** The fleet's size as last set (every replica's proxies): sent on hello and whenever it changes. */
  #fleetSize = 0;
  /** Frames from a base version to #target (null: none possible), encoded once for every proxy on that base. */
  #deltas = new Map<string, { kind: 'delta' | 'endpoints'; frame: string } | null>();
  /** #target as whole-table parts, once encoded (until then only proxies that can take a delta are synced). */
  #latest: EncodedTable | undefined;
  /** The whole-table encoding under way, and of which table. */
  #encoding: { table: RoutingTable; done: Promise<void> } | undefined;
  #nextId = 1;
  #pingTimer: NodeJS.Timeout | undefined;
  /** Messages sent by kind, for tests and metrics. */
  readonly sentCounts = { full: 0, endpoints: 0, delta: 0, refused: 0 };

  constructor(opts: SnapshotStreamOptions) {
    this.#opts = opts;
    this.#log = opts.logger.child({ component: 'stream' });
    this.#server = opts.tls ? createHttpsServer({ cert: opts.tls.cert, key: opts.tls.key }) : createHttpServer();
    // Plain requests get a hint; only upgrades are served.
    this.#server.on('request', (_req, res) => res.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' }).end('the stream is a WebSocket\n'));
    this.#wss = new WebSocketServer({
      noServer: true,
      perMessageDeflate: false, // tables arrive gzip'd already (once per version, not once per proxy)
      maxPayload: 64 * 1024, // proxies only send hellos, ACKs and NACKs
      handleProtocols: (protocols) => (protocols.has(STREAM_SUBPROTOCOL) ? STREAM_SUBPROTOCOL : false),
    });
    this.#server.on('upgrade', (req, socket, head) => this.#upgrade(req, socket, head));
    this.#server.on('clientError', (_err, socket) => socket.destroy());
  }

  async listen(): Promise<number> {
    this.#server.listen(this.#opts.port, this.#opts.host ?? '0.0.0.0');
    await once(this.#server, 'listening');
    this.#pingTimer = setInterval(() => this.#ping(), this.#opts.pingMs ?? 15_000);
    this.#pingTimer.unref();
    return (this.#server.address() as AddressInfo).port;
  }

  /** A rotated certificate: new TLS connections get it; open ones keep theirs. */
  setTls(pem: { cert: Buffer; key: Buffer }): void {
    if (!this.#opts.tls) throw new Error('the stream is not served over TLS');
    (this.#server as HttpsServer).setSecureContext({ cert: pem.cert, key: pem.key });
  }

  /**
   * The newest compiled table. Equal versions are ignored. Proxies that can take a delta or an endpoint update get it
   * at once; the whole table is encoded only when some proxy needs it (a new proxy, a resync), not on every change:
   * at 10k routes that encoding is ~40 ms of CPU the proxies on the same machine would otherwise wait for.
   */
  publish(table: RoutingTable): void {
    if (table.version === this.#target?.version) return;
    this.#tables.set(table.version, table);
    while (this.#tables.size > KEPT_DELTA_BASES) this.#tables.delete(this.#tables.keys().next().value as string);
    this.#target = table;
    this.#deltas = new Map();
    this.#syncAll();
  }

  /** Resolves when nothing is being encoded (tests, benchmarks). */
  async idle(): Promise<void> {
    while (this.#encoding) await this.#encoding.done;
  }

  currentVersion(): string | undefined {
    return this.#target?.version;
  }

  async close(): Promise<void> {
    clearInterval(this.#pingTimer);
    for (const peer of this.#peers) peer.socket.terminate();
    this.#wss.close();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** Starts encoding the whole of #target, unless that is done or under way; proxies waiting for it are synced after. */
  #encodeTarget(): void {
    const table = this.#target;
    if (table === undefined || this.#latest?.version === table.version || this.#encoding?.table === table) return;
    const started = performance.now();
    let failed = false;
    const done = encodeTable(table)
      .then(
        (encoded) => {
          this.#log.debug({ version: encoded.version, parts: encoded.parts.length, bytes: encoded.bytes, encodeMs: Math.round(performance.now() - started) }, 'table encoded');
          if (this.#target === table) this.#latest = encoded;
        },
        (err: unknown) => {
          failed = true;
          this.#log.error({ err: err instanceof Error ? err.message : String(err), version: table.version }, 'encoding the table failed');
        },
      )
      .finally(() => {
        if (this.#encoding?.table === table) this.#encoding = undefined;
        // Whoever still lacks the newest table gets it now, or, if a newer one came meanwhile, its encoding starts. A
        // failed encoding is not retried in a loop: the next version or the next proxy to connect tries again.
        if (!failed || this.#target !== table) this.#syncAll();
      });
    this.#encoding = { table, done };
  }

  /** The fleet's size changed: every connected proxy learns it (their Global limits' fallback share). */
  setFleetSize(proxies: number): void {
    if (proxies < 1 || proxies === this.#fleetSize) return;
    this.#fleetSize = proxies;
    const frame = encodeText({ type: 'fleet', proxies } satisfies FleetMessage);
    for (const peer of this.#peers) if (peer.name !== null) peer.socket.send(frame);
  }

  #syncAll(): void {
    for (const peer of this.#peers) if (peer.name !== null) this.#sync(peer);
  }

  #upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => {});
    if (!this.#opts.token.admits(req.headers.authorization)) {
      this.sentCounts.refused++;
      this.#log.warn({ remote: req.socket.remoteAddress ?? null, hadToken: req.headers.authorization !== undefined }, 'stream connection refused: bad or missing token');
      socket.end('HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#connected(ws, req));
  }

  #connected(socket: WebSocket, req: IncomingMessage): void {
    const peer: Peer = { id: this.#nextId++, socket, remote: `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`, name: null, expected: null, serving: null, alive: true };
    this.#peers.add(peer);
    socket.on('pong', () => (peer.alive = true));
    socket.on('error', (err) => this.#log.debug({ err: err.message, proxy: peer.name }, 'stream error'));
    socket.on('close', () => {
      this.#peers.delete(peer);
      this.#opts.fleet.gone(peer.id);
      if (peer.name !== null) this.#log.info({ proxy: peer.name, serving: peer.serving }, 'proxy disconnected');
    });
    socket.on('message', (data, isBinary) => {
      decodeFrame(data as Buffer, isBinary).then(
        (json) => this.#onMessage(peer, json),
        () => socket.close(1007, 'unreadable message'),
      );
    });
  }

  #onMessage(peer: Peer, json: unknown): void {
    const parsed = proxyMessage.safeParse(json);
    if (!parsed.success) {
      this.#log.warn({ proxy: peer.name, remote: peer.remote, issue: parsed.error.issues[0]?.message }, 'invalid message from a proxy');
      peer.socket.close(1008, 'invalid message');
      return;
    }
    const m = parsed.data;
    if (m.type === 'hello') {
      if (peer.name !== null) return; // one hello per connection
      // A proxy that reconnected before its old socket was noticed dead: the new connection wins.
      const stale = this.#opts.fleet.byName(m.name);
      if (stale) for (const p of this.#peers) if (p.id === stale.id) p.socket.terminate();
      peer.name = m.name;
      peer.expected = m.version;
      peer.serving = m.version;
      this.#opts.fleet.hello(peer.id, m.name, peer.remote, m.version);
      this.#log.info({ proxy: m.name, remote: peer.remote, serving: m.version }, 'proxy connected');
      if (this.#fleetSize > 0) peer.socket.send(encodeText({ type: 'fleet', proxies: this.#fleetSize } satisfies FleetMessage));
      this.#sync(peer);
    } else if (peer.name === null) {
      peer.socket.close(1008, 'hello first');
    } else if (m.type === 'ack') {
      peer.serving = m.version;
      this.#opts.fleet.ack(peer.id, m.version);
    } else {
      if (m.resync) {
        // It could not use an incremental update (another base, a delta it could not apply): not a rejection of the
        // table itself, which it gets whole right now and ACKs or NACKs on its own.
        this.#log.info({ proxy: peer.name, version: m.version, error: m.error }, 'proxy asked for the whole table');
      } else {
        this.#log.warn({ proxy: peer.name, version: m.version, error: m.error }, 'proxy rejected a table');
        this.#opts.fleet.nack(peer.id, m.version, m.error);
      }
      // It still serves what it confirmed last; a resync request means it needs the whole table.
      peer.expected = m.resync ? null : peer.serving;
      if (m.resync) this.#sync(peer);
    }
  }

  /** Brings one proxy to the latest version: nothing, an endpoint update, a delta, or the whole table. */
  #sync(peer: Peer): void {
    const target = this.#target;
    if (target === undefined || peer.expected === target.version) return;
    const incremental = peer.expected === null ? null : this.#deltaFrom(peer.expected);
    if (incremental !== null) {
      peer.socket.send(incremental.frame);
      this.sentCounts[incremental.kind]++;
    } else if (this.#latest?.version === target.version) {
      for (const part of this.#latest.parts) peer.socket.send(part, { binary: true });
      this.sentCounts.full++;
    } else {
      this.#encodeTarget(); // this proxy is synced once the whole table is encoded
      return;
    }
    peer.expected = target.version;
    this.#opts.fleet.sent(peer.id, target.version);
  }

  /** The update from `baseVersion` to the latest table, computed and encoded once per base whatever the proxies. */
  #deltaFrom(baseVersion: string): { kind: 'delta' | 'endpoints'; frame: string } | null {
    const cached = this.#deltas.get(baseVersion);
    if (cached !== undefined) return cached;
    const base = this.#tables.get(baseVersion);
    const target = this.#target;
    const started = performance.now();
    const delta = base === undefined || target === undefined ? null : tableDelta(base, target);
    const endpoints = delta === null || base === undefined ? null : asEndpointUpdate(base, delta);
    const update = endpoints !== null ? { kind: 'endpoints' as const, frame: encodeText(endpoints) } : delta !== null ? { kind: 'delta' as const, frame: encodeText(delta) } : null;
    this.#deltas.set(baseVersion, update);
    if (delta !== null) this.#log.debug({ base: baseVersion, version: delta.version, kind: update?.kind, routes: delta.routes.changed.length + delta.routes.added.length + delta.routes.removed.length, bytes: update?.frame.length, diffMs: Math.round(performance.now() - started) }, 'update encoded');
    return update;
  }

  #ping(): void {
    for (const peer of this.#peers) {
      if (!peer.alive) {
        this.#log.info({ proxy: peer.name }, 'proxy did not answer a ping: dropping it');
        peer.socket.terminate();
        continue;
      }
      peer.alive = false;
      peer.socket.ping();
    }
  }
}
