// Parsed mode (a rule with a message limit): `ws` terminates the WebSocket on both sides — a server socket for the
// client, a client socket to the upstream — and the gateway relays whole messages between them, checking the limits
// on each: size through ws's maxPayload (read from the frame header, so an oversized message is refused before it is
// buffered; ws closes with 1009), rate here (1008). Messages are relayed as whole messages: fragments are reassembled
// and sent on as one frame. Pings are answered by ws on each hop (both count as activity). No compression is
// negotiated on either hop (see docs/websockets.md). Backpressure: a side whose peer has more than HIGH_WATER bytes
// waiting is paused until its sends have gone out.
import type { RawData, WebSocket } from 'ws';
import type { TableRoute } from '../table/table-schema.ts';
import { closeReason } from './close-frame.ts';
import { ConnectionDeadlines, type DeadlineSettings } from './connection-deadlines.ts';
import { MessageRate } from './message-limits.ts';
import type { ClosedBy, Direction, WebSocketRouteMetrics } from './websocket-metrics.ts';
import { CLOSE_WAIT_MS, type WebSocketConnection } from './websocket-connection.ts';

const HIGH_WATER = 1024 * 1024;

export interface RelayInit {
  route: TableRoute;
  client: WebSocket;
  upstream: WebSocket;
  deadlines: DeadlineSettings;
  metrics: WebSocketRouteMetrics;
  /** Messages a second the client may send; null for no rate limit. */
  messagesPerSecond: number | null;
}

/** Codes a peer may not send in a Close frame (RFC 6455 §7.4.1): 1005/1006 mean there was none. */
function sendable(code: number): boolean {
  return code !== 1005 && code !== 1006 && code !== 1015;
}

export class RelayedConnection implements WebSocketConnection {
  readonly route: TableRoute;
  readonly closed: Promise<void>;
  readonly #client: WebSocket;
  readonly #upstream: WebSocket;
  readonly #metrics: WebSocketRouteMetrics;
  readonly #deadlines: ConnectionDeadlines;
  readonly #rate: MessageRate | null;
  #resolve!: () => void;
  #open = 2;
  #by: ClosedBy | null = null;
  #code = 1006;
  #cut: NodeJS.Timeout | null = null;

  constructor(init: RelayInit) {
    this.route = init.route;
    this.#client = init.client;
    this.#upstream = init.upstream;
    this.#metrics = init.metrics;
    this.#rate = init.messagesPerSecond === null ? null : new MessageRate(init.messagesPerSecond, performance.now());
    this.closed = new Promise((resolve) => (this.#resolve = resolve));
    this.#deadlines = new ConnectionDeadlines(init.deadlines, (why) => this.close(why.code, why.reason));
    this.#relay(init.client, init.upstream, 'client_to_upstream', 'client');
    this.#relay(init.upstream, init.client, 'upstream_to_client', 'upstream');
    init.metrics.opened();
  }

  #relay(from: WebSocket, to: WebSocket, direction: Direction, side: 'client' | 'upstream'): void {
    const touch = (): void => this.#deadlines.touch();
    from.on('ping', touch);
    from.on('pong', touch);
    from.on('message', (data: RawData, isBinary: boolean) => {
      this.#deadlines.touch();
      if (side === 'client' && this.#rate !== null && !this.#rate.take(performance.now())) {
        this.close(1008, 'message rate exceeded');
        return;
      }
      if (to.readyState !== to.OPEN) return;
      // binaryType is ws's default 'nodebuffer': a message is one Buffer, fragments already joined.
      const bytes = data as Buffer;
      this.#metrics.message(direction);
      this.#metrics.bytes(direction, bytes.length);
      to.send(bytes, { binary: isBinary }, () => {
        if (from.isPaused && to.bufferedAmount < HIGH_WATER) from.resume();
      });
      if (to.bufferedAmount >= HIGH_WATER) from.pause();
    });
    from.on('error', (err: Error & { code?: string }) => {
      // ws has already sent 1009 to a peer whose message was over maxPayload; the other side is told it goes away.
      if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' && this.#by === null) {
        this.#by = 'gateway';
        this.#code = 1009;
        this.#closeSide(to, 1001, side === 'client' ? 'client message too big' : 'upstream message too big');
        this.#armCut();
      }
    });
    from.once('close', (code: number, reason: Buffer) => {
      if (this.#by === null) {
        this.#by = side;
        this.#code = code;
      }
      // Pass the peer's close on (its code and reason when it sent them).
      if (to.readyState === to.OPEN) {
        if (code === 1006) to.terminate();
        else if (sendable(code)) to.close(code, reason);
        else to.close();
      }
      this.#armCut();
      if (--this.#open === 0) this.#finish();
    });
  }

  close(code: number, reason: string): void {
    if (this.#by !== null || this.#open === 0) return;
    this.#by = 'gateway';
    this.#code = code;
    this.#closeSide(this.#client, code, reason);
    this.#closeSide(this.#upstream, code === 1000 ? 1000 : 1001, reason);
    this.#armCut();
  }

  #closeSide(ws: WebSocket, code: number, reason: string): void {
    if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close(code, closeReason(reason));
  }

  #armCut(): void {
    this.#cut ??= setTimeout(() => this.terminate(), CLOSE_WAIT_MS);
  }

  bufferedBytes(): number {
    return this.#client.bufferedAmount + this.#upstream.bufferedAmount;
  }

  terminate(): void {
    this.#client.terminate();
    this.#upstream.terminate();
  }

  #finish(): void {
    if (this.#cut !== null) clearTimeout(this.#cut);
    this.#deadlines.stop();
    this.#metrics.closed(this.#by ?? 'client', this.#code);
    this.#resolve();
  }
}
