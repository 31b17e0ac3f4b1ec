// The proxies connected to this controller replica: who they are, which version each serves, when it last ACKed and
// the last error it reported. What /debug/fleet shows and what the Programmed conditions are computed from.

export interface ProxyRecord {
  /** Connection id (unique per connection, not per proxy). */
  id: number;
  name: string;
  remote: string;
  connectedAt: number;
  /** The version the proxy serves (from its hello, then its ACKs); null before its first table. */
  version: string | null;
  /** The version last sent to it and not yet answered. */
  pending: string | null;
  lastAckAt: number | null;
  lastError: { version: string; error: string; at: number } | null;
}

export class FleetTracker {
  readonly #proxies = new Map<number, ProxyRecord>();
  readonly #onChange: () => void;

  constructor(onChange: () => void = () => {}) {
    this.#onChange = onChange;
  }

  hello(id: number, name: string, remote: string, version: string | null): void {
    this.#proxies.set(id, { id, name, remote, connectedAt: Date.now(), version, pending: null, lastAckAt: null, lastError: null });
    this.#onChange();
  }

  sent(id: number, version: string): void {
    const p = this.#proxies.get(id);
    if (p) p.pending = version;
  }

  ack(id: number, version: string): void {
    const p = this.#proxies.get(id);
    if (!p) return;
    p.version = version;
    p.lastAckAt = Date.now();
    if (p.pending === version) p.pending = null;
    // An ACK of a newer version supersedes an older rejection.
    if (p.lastError !== null && p.lastError.version !== version) p.lastError = null;
    this.#onChange();
  }

  nack(id: number, version: string, error: string): void {
    const p = this.#proxies.get(id);
    if (!p) return;
    p.lastError = { version, error, at: Date.now() };
    if (p.pending === version) p.pending = null;
    this.#onChange();
  }

  gone(id: number): void {
    if (this.#proxies.delete(id)) this.#onChange();
  }

  /** The connection already registered under `name` (a proxy that reconnected before its old socket timed out). */
  byName(name: string): ProxyRecord | undefined {
    for (const p of this.#proxies.values()) if (p.name === name) return p;
    return undefined;
  }

  list(): ProxyRecord[] {
    return [...this.#proxies.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.id - b.id));
  }
}
