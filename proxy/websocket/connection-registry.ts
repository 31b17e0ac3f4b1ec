// The gateway's open WebSocket connections, grouped by the compiled route they were opened on. After every table swap
// `reconcile` drains the groups whose route is gone or compiled differently (closed with 1001 after the drain grace);
// every other connection is not touched, whatever else the table changed. `closeAll` is the shutdown seam: no new
// upgrades, a grace, 1001 to everyone, and it settles once they are all gone (cut after CLOSE_WAIT_MS).
import { isDeepStrictEqual } from 'node:util';
import type { RuntimeRoute } from '../runtime/runtime-types.ts';
import type { TableRoute } from '../table/table-schema.ts';
import { CLOSE_WAIT_MS, type WebSocketConnection } from './websocket-connection.ts';

const ROUTE_CHANGED = 'route changed';
const ROUTE_REMOVED = 'route removed';

export class ConnectionRegistry {
  /** Open connections not being drained, by the TableRoute object they are grouped under (see reconcile). */
  readonly #groups = new Map<TableRoute, Set<WebSocketConnection>>();
  /** Each open connection's group key, or null once it is being drained. */
  readonly #keyOf = new Map<WebSocketConnection, TableRoute | null>();
  readonly #drainMs: number;
  readonly #drains = new Set<NodeJS.Timeout>();
  #closing = false;
  #emptied: (() => void) | null = null;

  /** `drainMs`: how long a connection whose route changed keeps working before its 1001 (`--websocket-drain`). */
  constructor(drainMs: number) {
    this.#drainMs = drainMs;
  }

  /** True once closeAll began or refuseNew was called: new upgrades are refused. */
  get closing(): boolean {
    return this.#closing;
  }

  /** From now on new upgrades are refused (a shutdown began); open connections are not touched. */
  refuseNew(): void {
    this.#closing = true;
  }

  count(): number {
    return this.#keyOf.size;
  }

  /** What the open connections hold in the gateway's memory, summed (tests; a scrape could read it too). */
  bufferedBytes(): number {
    let total = 0;
    for (const c of this.#keyOf.keys()) total += c.bufferedBytes();
    return total;
  }

  add(connection: WebSocketConnection): void {
    this.#join(connection.route, connection);
    void connection.closed.then(() => {
      const key = this.#keyOf.get(connection);
      this.#keyOf.delete(connection);
      if (key !== undefined && key !== null) {
        const group = this.#groups.get(key);
        group?.delete(connection);
        if (group?.size === 0) this.#groups.delete(key);
      }
      if (this.#keyOf.size === 0) this.#emptied?.();
    });
  }

  #join(key: TableRoute, connection: WebSocketConnection): void {
    let group = this.#groups.get(key);
    if (group === undefined) this.#groups.set(key, (group = new Set()));
    group.add(connection);
    this.#keyOf.set(connection, key);
  }

  /** After a swap: connections whose route id is gone or whose compiled route differs are drained; no other is touched. */
  reconcile(routes: ReadonlyMap<string, RuntimeRoute>): void {
    for (const [route, group] of [...this.#groups]) {
      const now = routes.get(route.id)?.route;
      if (now === route) continue; // a delta keeps unchanged routes as the same object
      this.#groups.delete(route);
      if (now !== undefined && isDeepStrictEqual(now, route)) {
        // A full table rebuilds every route object: regroup under the new one, so the next check is by identity.
        for (const c of group) this.#join(now, c);
        continue;
      }
      for (const c of group) this.#keyOf.set(c, null);
      this.#drain(group, now === undefined ? ROUTE_REMOVED : ROUTE_CHANGED);
    }
  }

  #drain(group: Set<WebSocketConnection>, reason: string): void {
    const timer = setTimeout(() => {
      this.#drains.delete(timer);
      for (const c of group) c.close(1001, reason);
    }, this.#drainMs);
    this.#drains.add(timer);
  }

  /** Refuses new upgrades, waits `graceMs` (less once none is open), closes the rest with `code`, waits for them. */
  async closeAll(code: number, reason: string, graceMs: number): Promise<void> {
    this.#closing = true;
    if (this.count() > 0 && graceMs > 0) await this.#untilEmpty(graceMs);
    for (const t of this.#drains) clearTimeout(t);
    this.#drains.clear();
    const all = [...this.#keyOf.keys()];
    for (const c of all) c.close(code, reason);
    if (this.count() > 0) await this.#untilEmpty(CLOSE_WAIT_MS + 1_000);
    for (const c of all) c.terminate();
  }

  #untilEmpty(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#emptied = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#emptied = done;
    });
  }
}
