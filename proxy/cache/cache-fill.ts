// A miss's answer recorded while it streams to the client (never buffered in front of it): the upstream dispatch
// hands every event over (upstream-dispatch.ts), and the fill keeps a copy of the body until it exceeds the rule's
// maxEntrySize (then it lets go and the answer just streams through). Only an answer that ended cleanly is stored;
// every other ending settles the flight with nothing, so its followers go upstream themselves.
import type { IncomingHttpHeaders } from 'node:http';
import type { CachedResponse } from './cached-response.ts';
import { storableForMs, storedHeaders, upstreamAge } from './cache-policy.ts';
import { variantOf, varyNames } from './cache-key.ts';
import type { Flight } from './request-coalescer.ts';
import type { RouteCache } from './route-cache.ts';

export class CacheFill {
  readonly #cache: RouteCache;
  readonly #key: string;
  readonly #request: IncomingHttpHeaders;
  readonly #flight: Flight | null;
  #status = 0;
  #headers: IncomingHttpHeaders | null = null;
  #ttlMs = 0;
  #chunks: Buffer[] | null = null;
  #bytes = 0;
  #done = false;

  constructor(cache: RouteCache, key: string, request: IncomingHttpHeaders, flight: Flight | null) {
    this.#cache = cache;
    this.#key = key;
    this.#request = request;
    this.#flight = flight;
  }

  /** The upstream's status and headers: whether the answer may be stored at all is decided here. */
  start(status: number, headers: IncomingHttpHeaders): void {
    if (this.#done) return;
    this.#ttlMs = storableForMs(status, headers, this.#cache.config.ttlMs);
    if (this.#ttlMs === 0) return this.abort();
    this.#status = status;
    this.#headers = headers;
    this.#chunks = [];
  }

  data(chunk: Buffer): void {
    const chunks = this.#chunks;
    if (chunks === null) return;
    this.#bytes += chunk.length;
    if (this.#bytes > this.#cache.config.maxEntryBytes) return this.abort();
    chunks.push(chunk);
  }

  /** A clean end: stored, unless trailers came (a stored answer could not repeat them). */
  end(trailers: IncomingHttpHeaders | undefined): void {
    const chunks = this.#chunks;
    const headers = this.#headers;
    if (this.#done || chunks === null || headers === null) return this.abort();
    if (trailers !== undefined && Object.keys(trailers).length > 0) return this.abort();
    this.#done = true;
    this.#chunks = null;
    const now = this.#cache.env.clock();
    const names = varyNames(headers.vary);
    const record: CachedResponse = {
      kind: 'response',
      status: this.#status,
      headers: storedHeaders(headers),
      // One tight copy: the chunks are views of the socket's read buffers, which holding would keep alive whole.
      body: Buffer.concat(chunks, this.#bytes),
      storedAt: now,
      expiresAt: now + this.#ttlMs,
      ageAtStore: upstreamAge(headers),
      route: this.#cache.routeId,
      variant: names.length === 0 ? null : variantOf(names, this.#request),
    };
    this.#cache.store(this.#key, record, names);
    this.#flight?.settle(record);
  }

  /** Any other ending (not storable, too large, upstream error, client gone, timeout); harmless after end(). */
  abort(): void {
    if (this.#done) return;
    this.#done = true;
    this.#chunks = null;
    this.#headers = null;
    this.#flight?.settle(null);
  }
}
