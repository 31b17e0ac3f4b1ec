// WebSocket instruments, in the gateway's registry. Labels are the route id and small fixed sets (status, who closed,
// a close code from a short list), so cardinality is bounded by the table. Per-route children are bound once.
import { Counter, Gauge, type Registry } from 'prom-client';

/** Who ended a connection: a peer's Close frame or the gateway's (limits, drain, shutdown). */
export type ClosedBy = 'client' | 'upstream' | 'gateway';
export type Direction = 'client_to_upstream' | 'upstream_to_client';

const KNOWN_CODES = new Set([1000, 1001, 1002, 1003, 1005, 1006, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014]);

/** A close code as a label: the registered codes as numbers, application codes (3000–4999) and the rest grouped. */
export function codeLabel(code: number): string {
  if (KNOWN_CODES.has(code)) return String(code);
  if (code >= 3000 && code <= 4999) return 'application';
  return 'other';
}

export interface WebSocketRouteMetrics {
  handshake(status: number): void;
  opened(): void;
  closed(by: ClosedBy, code: number): void;
  /** Bytes forwarded (both modes). */
  bytes(direction: Direction, n: number): void;
  /** Messages forwarded (parsed mode only). */
  message(direction: Direction): void;
}

export class WebSocketMetrics {
  readonly #handshakes: Counter<'route' | 'status'>;
  readonly #open: Gauge<'route'>;
  readonly #closes: Counter<'route' | 'by' | 'code'>;
  readonly #bytes: Counter<'route' | 'direction'>;
  readonly #messages: Counter<'route' | 'direction'>;
  readonly #byRoute = new Map<string, WebSocketRouteMetrics>();

  constructor(registry: Registry) {
    this.#handshakes = new Counter({
      name: 'gatehouse_websocket_handshakes_total',
      help: 'WebSocket upgrade requests by route id and the status answered (101 when upgraded)',
      labelNames: ['route', 'status'],
      registers: [registry],
    });
    this.#open = new Gauge({ name: 'gatehouse_websocket_connections', help: 'Open WebSocket connections by route id', labelNames: ['route'], registers: [registry] });
    this.#closes = new Counter({
      name: 'gatehouse_websocket_closes_total',
      help: 'Closed WebSocket connections by route id, who closed (client, upstream, gateway) and close code (1006: no Close frame)',
      labelNames: ['route', 'by', 'code'],
      registers: [registry],
    });
    this.#bytes = new Counter({
      name: 'gatehouse_websocket_bytes_total',
      help: 'Bytes forwarded on WebSocket connections by route id and direction (frames as sent in plain mode, message payloads when parsed)',
      labelNames: ['route', 'direction'],
      registers: [registry],
    });
    this.#messages = new Counter({
      name: 'gatehouse_websocket_messages_total',
      help: 'Messages forwarded on WebSocket connections by route id and direction (only routes with a message limit, whose frames are parsed)',
      labelNames: ['route', 'direction'],
      registers: [registry],
    });
  }

  forRoute(routeId: string): WebSocketRouteMetrics {
    let metrics = this.#byRoute.get(routeId);
    if (metrics !== undefined) return metrics;
    const open = this.#open.labels(routeId);
    const bytes = { client_to_upstream: this.#bytes.labels(routeId, 'client_to_upstream'), upstream_to_client: this.#bytes.labels(routeId, 'upstream_to_client') };
    // Message counters are bound on first use: a piped route never exports them.
    let messages: Record<Direction, { inc(): void }> | undefined;
    metrics = {
      handshake: (status) => this.#handshakes.labels(routeId, String(status)).inc(),
      opened: () => open.inc(),
      closed: (by, code) => {
        open.dec();
        this.#closes.labels(routeId, by, codeLabel(code)).inc();
      },
      bytes: (direction, n) => bytes[direction].inc(n),
      message: (direction) => {
        messages ??= { client_to_upstream: this.#messages.labels(routeId, 'client_to_upstream'), upstream_to_client: this.#messages.labels(routeId, 'upstream_to_client') };
        messages[direction].inc();
      },
    };
    this.#byRoute.set(routeId, metrics);
    return metrics;
  }
}
