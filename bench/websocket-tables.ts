// The WebSocket benchmark's routing table: two rules to the echo upstream, one piped (no message limit) and one
// parsed (maxMessageSize 64 KiB, which makes the gateway terminate `ws` on both sides and relay whole messages).
import type { RoutingTable, TableWebSocket } from '../proxy/table/table-schema.ts';
import { backend, route, seal } from './bench-tables.ts';

export const PLAIN_PATH = '/ws/plain';
export const PARSED_PATH = '/ws/metered';
/** maxMessageSize of the parsed rule (64Ki, as in docs/websockets.md); the bench checks a larger message gets 1009. */
export const PARSED_MAX_MESSAGE_BYTES = 64 * 1024;

const settings = (extra: Partial<TableWebSocket> = {}): TableWebSocket => ({
  // The compiler's defaults (10 min idle, 2 h duration): the idle connections are held well under 10 minutes.
  idleTimeoutMs: 600_000,
  maxDurationMs: 7_200_000,
  closeOnExpiry: false,
  ...extra,
});

export function websocketTable(upstreamPort: number): RoutingTable {
  const b = backend(upstreamPort, '');
  const plain = route('bench/ws/r0/m0', { namespace: 'bench', name: 'ws', rule: 0, match: 0 }, [], { type: 'exact', value: PLAIN_PATH }, b.id, {
    websocket: settings(),
  });
  const parsed = route('bench/ws/r1/m0', { namespace: 'bench', name: 'ws', rule: 1, match: 0 }, [], { type: 'exact', value: PARSED_PATH }, b.id, {
    websocket: settings({ maxMessageBytes: PARSED_MAX_MESSAGE_BYTES }),
  });
  return seal([plain, parsed], [b]);
}
