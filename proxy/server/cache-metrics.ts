// The response cache's instruments: answers by route and outcome (hit, miss, bypass) and the body bytes served from
// the cache, counted in plain numbers and read when scraped; evictions from the memory LRU by route; and gauges read
// when scraped (bytes held per route and in all, the bound, requests waiting for another's answer). Labels are route
// ids from the table, never a key, a path or anything else a client sends.
import { Gauge, type Registry } from 'prom-client';
import type { CacheCounts, CacheMetrics } from '../cache/route-cache.ts';
import { TalliedCounter } from './tallied-metrics.ts';

export interface CacheGauges {
  bytesByRoute: () => ReadonlyMap<string, number>;
  maxBytes: number;
  waiting: () => number;
}

const RESULTS = ['hit', 'miss', 'bypass'] as const;

export class CachePrometheus implements CacheMetrics {
  /** By route id: a table swap that rebuilds a route keeps counting on the same numbers. */
  readonly #counts = new Map<string, CacheCounts>();
  readonly #evictions = new Map<string, number>();

  constructor(registry: Registry, gauges: CacheGauges) {
    const counts = this.#counts;
    const evictions = this.#evictions;
    new TalliedCounter(
      {
        name: 'gatehouse_cache_requests_total',
        help: 'Requests on routes with a cache, by route id and result: hit (answered from the cache, 304s included), miss (forwarded; its answer stored when storable), bypass (forwarded without looking: not GET/HEAD, no-store, a client invalidation, an Authorization the route does not authenticate)',
        labelNames: ['route', 'result'],
        registers: [registry],
      },
      function* () {
        for (const [route, c] of counts) {
          for (const result of RESULTS) yield { labels: { route, result }, value: result === 'hit' ? c.hits : result === 'miss' ? c.misses : c.bypasses };
        }
      },
    );
    new TalliedCounter(
      { name: 'gatehouse_cache_hit_bytes_total', help: 'Body bytes answered from the cache, by route id', labelNames: ['route'], registers: [registry] },
      function* () {
        for (const [route, c] of counts) yield { labels: { route }, value: c.hitBytes };
      },
    );
    new TalliedCounter(
      {
        name: 'gatehouse_cache_evictions_total',
        help: "Entries pushed out of this proxy's memory cache before they expired, to make room (--cache-max-bytes), by the route id that stored them",
        labelNames: ['route'],
        registers: [registry],
      },
      function* () {
        for (const [route, value] of evictions) yield { labels: { route }, value };
      },
    );
    new Gauge({
      name: 'gatehouse_cache_bytes',
      help: "Bytes held in this proxy's memory cache, by the route id that stored them (the Redis tier is not counted)",
      labelNames: ['route'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [route, bytes] of gauges.bytesByRoute()) this.set({ route }, bytes);
      },
    });
    new Gauge({
      name: 'gatehouse_cache_max_bytes',
      help: "The memory cache's bound (--cache-max-bytes)",
      registers: [registry],
      collect() {
        this.set(gauges.maxBytes);
      },
    });
    new Gauge({
      name: 'gatehouse_cache_coalesced_waiting',
      help: 'Requests waiting now for another request with the same cache key to bring its answer (request coalescing)',
      registers: [registry],
      collect() {
        this.set(gauges.waiting());
      },
    });
  }

  route(routeId: string): CacheCounts {
    let c = this.#counts.get(routeId);
    if (c === undefined) {
      c = { hits: 0, misses: 0, bypasses: 0, hitBytes: 0 };
      this.#counts.set(routeId, c);
    }
    return c;
  }

  evicted(routeId: string): void {
    this.#evictions.set(routeId, (this.#evictions.get(routeId) ?? 0) + 1);
  }
}
