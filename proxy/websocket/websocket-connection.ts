// What the registry and the gateway know of an open WebSocket connection, piped or parsed.
import type { TableRoute } from '../table/table-schema.ts';

export interface WebSocketConnection {
  /** The compiled route it was opened on: a table whose route of this id differs (or is gone) drains it. */
  readonly route: TableRoute;
  /** Closes both sides: `code` and `reason` to the client, 1001 to the upstream; cut if they do not finish in time. */
  close(code: number, reason: string): void;
  /** Ends both sockets at once, without Close frames. */
  terminate(): void;
  /** Bytes the gateway holds for this connection (written, not yet taken by the sockets): bounded by backpressure. */
  bufferedBytes(): number;
  /** Settles when both sockets are closed. */
  readonly closed: Promise<void>;
}

/** How long a closing connection may take to finish its closing handshake before it is cut. */
export const CLOSE_WAIT_MS = 3_000;
