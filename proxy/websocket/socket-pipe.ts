// Plain mode: after both handshakes the two sockets are piped, byte for byte, with backpressure both ways (a side
// whose socket is full pauses the other's reads, so the gateway holds at most one socket buffer per direction). The
// frames are not parsed: their headers are only read to know where one ends (frame-boundaries.ts), so the gateway
// can write its own Close frame between two frames when a deadline, a drain or a shutdown ends the connection.
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TableRoute } from '../table/table-schema.ts';
import { closeFrame } from './close-frame.ts';
import { ConnectionDeadlines, type DeadlineSettings } from './connection-deadlines.ts';
import { FrameBoundaries } from './frame-boundaries.ts';
import type { ClosedBy, Direction, WebSocketRouteMetrics } from './websocket-metrics.ts';
import { CLOSE_WAIT_MS, type WebSocketConnection } from './websocket-connection.ts';

export interface PipeInit {
  route: TableRoute;
  client: Duplex;
  upstream: Socket;
  /** Bytes the client sent after its handshake, and the upstream after its 101: already frames. */
  clientHead: Buffer;
  upstreamHead: Buffer;
  deadlines: DeadlineSettings;
  metrics: WebSocketRouteMetrics;
}

/** One direction: bytes read from `from`, written to `to`. */
class Flow {
  readonly from: Duplex;
  readonly to: Duplex;
  readonly direction: Direction;
  /** Whether `to` is the upstream (frames towards it are masked). */
  readonly toUpstream: boolean;
  readonly frames = new FrameBoundaries();
  /** The gateway's Close frame waits for the frame in flight to end. */
  closeWanted: Buffer | null = null;
  /** Nothing more is written to `to` (its Close frame, or its end, was written). */
  shut = false;
  waitingDrain = false;

  constructor(from: Duplex, to: Duplex, direction: Direction, toUpstream: boolean) {
    this.from = from;
    this.to = to;
    this.direction = direction;
    this.toUpstream = toUpstream;
  }
}

export class PipedConnection implements WebSocketConnection {
  readonly route: TableRoute;
  readonly closed: Promise<void>;
  readonly #client: Duplex;
  readonly #upstream: Socket;
  readonly #metrics: WebSocketRouteMetrics;
  readonly #deadlines: ConnectionDeadlines;
  readonly #up: Flow;
  readonly #down: Flow;
  #resolve!: () => void;
  #open = 2;
  #closing = false;
  #by: ClosedBy | null = null;
  #code = 1006;
  #cut: NodeJS.Timeout | null = null;
  #firstGone: ClosedBy = 'client';

  constructor(init: PipeInit) {
    this.route = init.route;
    this.#client = init.client;
    this.#upstream = init.upstream;
    this.#metrics = init.metrics;
    this.closed = new Promise((resolve) => (this.#resolve = resolve));
    this.#up = new Flow(init.client, init.upstream, 'client_to_upstream', true);
    this.#down = new Flow(init.upstream, init.client, 'upstream_to_client', false);
    this.#deadlines = new ConnectionDeadlines(init.deadlines, (why) => this.close(why.code, why.reason));
    for (const socket of [init.client, init.upstream]) {
      (socket as Partial<Socket>).setNoDelay?.(true);
      (socket as Partial<Socket>).setTimeout?.(0);
      socket.on('error', () => this.terminate());
      socket.once('close', () => this.#socketClosed(socket === init.client ? 'client' : 'upstream'));
    }
    this.#wire(this.#up);
    this.#wire(this.#down);
    init.metrics.opened();
    if (init.upstreamHead.length > 0) this.#forward(this.#down, init.upstreamHead);
    if (init.clientHead.length > 0) this.#forward(this.#up, init.clientHead);
  }

  #wire(flow: Flow): void {
    flow.from.on('data', (chunk: Buffer) => this.#forward(flow, chunk));
    // One side ended its writes: pass the end on, so the other sees the same half-close.
    flow.from.on('end', () => this.#shut(flow));
  }

  #forward(flow: Flow, chunk: Buffer): void {
    if (flow.shut) return; // after the gateway's Close frame the peer's bytes are not passed on
    this.#deadlines.touch();
    let data = chunk;
    if (flow.closeWanted !== null) {
      const end = flow.frames.feed(chunk, true);
      data = chunk.subarray(0, end);
      if (end < chunk.length || flow.frames.atBoundary) {
        this.#write(flow, data);
        this.#sendClose(flow);
        return;
      }
    } else {
      const before = flow.frames.closeCode;
      flow.frames.feed(chunk);
      // The first Close frame names who closed and why.
      if (flow.frames.closeCode !== before && this.#by === null) {
        this.#by = flow.toUpstream ? 'client' : 'upstream';
        this.#code = flow.frames.closeCode;
      }
    }
    this.#write(flow, data);
  }

  #write(flow: Flow, data: Buffer): void {
    if (data.length === 0) return;
    this.#metrics.bytes(flow.direction, data.length);
    if (!flow.to.write(data) && !flow.waitingDrain) {
      flow.waitingDrain = true;
      flow.from.pause();
      flow.to.once('drain', () => {
        flow.waitingDrain = false;
        flow.from.resume();
      });
    }
  }

  #sendClose(flow: Flow): void {
    const frame = flow.closeWanted as Buffer;
    flow.closeWanted = null;
    if (flow.shut) return;
    flow.shut = true;
    flow.to.end(frame);
    // Keep reading (and dropping) what the peer still sends, so its Close reply never blocks on a full socket.
    if (flow.waitingDrain) flow.from.resume();
  }

  #shut(flow: Flow): void {
    if (flow.shut) return;
    flow.shut = true;
    flow.to.end();
  }

  close(code: number, reason: string): void {
    if (this.#closing || this.#open === 0) return;
    this.#closing = true;
    this.#cut = setTimeout(() => this.terminate(), CLOSE_WAIT_MS);
    // A peer already started the closing handshake: let it finish (or be cut).
    if (this.#by !== null) return;
    this.#by = 'gateway';
    this.#code = code;
    this.#down.closeWanted = closeFrame(code, reason, false);
    this.#up.closeWanted = closeFrame(code === 1000 ? 1000 : 1001, reason, true);
    for (const flow of [this.#down, this.#up]) if (flow.frames.atBoundary) this.#sendClose(flow);
  }

  bufferedBytes(): number {
    return this.#client.writableLength + this.#upstream.writableLength;
  }

  terminate(): void {
    this.#client.destroy();
    this.#upstream.destroy();
  }

  #socketClosed(side: ClosedBy): void {
    // The other side gets its pending bytes and an end; it is cut if it does not close in time.
    if (--this.#open === 1) {
      this.#firstGone = side;
      this.#shut(this.#up);
      this.#shut(this.#down);
      this.#cut ??= setTimeout(() => this.terminate(), CLOSE_WAIT_MS);
      return;
    }
    if (this.#cut !== null) clearTimeout(this.#cut);
    this.#deadlines.stop();
    // No Close frame either way: whoever dropped the connection first closed it, abnormally.
    this.#metrics.closed(this.#by ?? this.#firstGone, this.#by === null ? 1006 : this.#code);
    this.#resolve();
  }
}
