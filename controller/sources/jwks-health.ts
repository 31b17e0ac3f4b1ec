// The controller's own watch on the JWKS URIs of the JWT Authorizers in the table, so an Authorizer's status says
// when its keys cannot be fetched (which URI, what error, since when) and when they can again. Proxies fetch and
// cache keys themselves and keep serving with the keys they have; this only reports. It uses the proxies' JWKS
// cache, so it fails for the same reasons (status, size, JSON, no usable key) a proxy would.
import type { Logger } from 'pino';
import { JwksCaches } from '../../proxy/policy/jwt/jwks-cache.ts';
import { NO_AUTH_METRICS, type Clock } from '../../proxy/policy/policy-types.ts';
import type { RoutingTable } from '../../proxy/table/table-schema.ts';
import type { JwksHealth } from '../compile/compile-types.ts';

export interface JwksHealthOptions {
  logger: Logger;
  /** How often each URI is fetched. Default 60 s. */
  intervalMs?: number;
  clock?: Clock;
  /** Called when some URI's health changed (the controller compiles again so statuses follow). */
  onChange: () => void;
}

export class JwksHealthWatch {
  readonly #opts: JwksHealthOptions;
  readonly #clock: Clock;
  readonly #caches: JwksCaches;
  readonly #log: Logger;
  /** Source key → its current health; an entry is replaced only when it changes, so compiles can compare identity. */
  #health = new Map<string, JwksHealth>();
  #sources = new Map<string, { uri: string; caPem?: string; cacheMs: number }>();
  #timer: NodeJS.Timeout | undefined;
  /** The probe running; a caller arriving meanwhile waits for it, then runs its own (the sources may have changed). */
  #probing: Promise<void> = Promise.resolve();

  constructor(opts: JwksHealthOptions) {
    this.#opts = opts;
    this.#clock = opts.clock ?? Date.now;
    this.#log = opts.logger.child({ component: 'jwks-health' });
    this.#caches = new JwksCaches({ clock: this.#clock, metrics: NO_AUTH_METRICS, logger: this.#log });
  }

  /** What compiles read: the health of every watched source, by JwksCaches.keyOf. */
  health(): ReadonlyMap<string, JwksHealth> {
    return this.#health;
  }

  /** Watches the URIs of the table's JWT Authorizers (and stops watching the others); probes new ones at once. */
  watch(table: RoutingTable): void {
    const sources = new Map<string, { uri: string; caPem?: string; cacheMs: number }>();
    for (const a of table.authorizers) if (a.type === 'jwt' && a.jwks.source === 'uri') sources.set(JwksCaches.keyOf(a.jwks), a.jwks);
    const added = [...sources.keys()].some((k) => !this.#sources.has(k));
    const removed = [...this.#health.keys()].filter((k) => !sources.has(k));
    this.#sources = sources;
    this.#caches.retainOnly(sources.keys());
    if (removed.length > 0) {
      this.#health = new Map([...this.#health].filter(([k]) => sources.has(k)));
    }
    if (sources.size > 0 && this.#timer === undefined) {
      this.#timer = setInterval(() => void this.probeAll(), this.#opts.intervalMs ?? 60_000);
      this.#timer.unref();
    } else if (sources.size === 0 && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
    if (added) void this.probeAll();
  }

  /** Fetches every watched URI once; calls onChange when any health changed. */
  probeAll(): Promise<void> {
    const probe = (): Promise<void> => this.#probeOnce().catch((err: unknown) => this.#log.error({ err }, 'JWKS health check failed'));
    const run = this.#probing.then(probe, probe);
    this.#probing = run;
    return run;
  }

  async #probeOnce(): Promise<void> {
    const sources = [...this.#sources];
    await Promise.all(sources.map(([, s]) => this.#caches.forUri(s).probe()));
    let changed = false;
    const next = new Map(this.#health);
    for (const [key, source] of sources) {
      if (!this.#sources.has(key)) continue; // stopped watching it meanwhile
      const state = this.#caches.forUri(source).state();
      const health: JwksHealth =
        state.lastError === undefined ? { uri: state.uri, ok: true } : { uri: state.uri, ok: false, error: state.lastError.message, since: new Date(state.lastError.since).toISOString() };
      const before = this.#health.get(key);
      if (before === undefined || JSON.stringify(before) !== JSON.stringify(health)) {
        next.set(key, Object.freeze(health));
        changed = true;
      }
    }
    if (changed) {
      this.#health = next;
      this.#opts.onChange();
    }
  }

  close(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#caches.close();
  }
}
