// A route's CORS policy built once per table apply from its table `cors`: the origin matcher, the allowed methods
// and headers as sets, and the header values the answers repeat, precomputed. A route without CORS holds null.
import type { TableClientIpRules, TableCors } from '../../table/table-schema.ts';
import { ClientIpStep } from '../client-ip/client-ip-step.ts';
import { OriginMatcher } from './origin-matcher.ts';

export class RouteCors {
  readonly origins: OriginMatcher;
  readonly credentials: boolean;
  /** The Access-Control-Allow-Methods value: every allowed method, so one preflight answer serves them all. */
  readonly allowMethods: string;
  /** The Access-Control-Expose-Headers value; null for none. */
  readonly exposeHeaders: string | null;
  /** The Access-Control-Max-Age value; null leaves the browser's default (5 s). */
  readonly maxAge: string | null;
  /** The route's client IP rules, checked before a preflight is answered; null when it has none. */
  readonly preflightGate: ClientIpStep | null;
  readonly #methods: ReadonlySet<string>;
  readonly #headers: ReadonlySet<string>;
  readonly #anyHeader: boolean;

  constructor(cors: TableCors, clientIp: TableClientIpRules | undefined) {
    // The table schema refuses "*" with credentials; should one get here anyway, it admits no origin at all (fails
    // closed) rather than answer credentialed requests with "*" or whatever origin they name.
    const unsafe = cors.allowCredentials && cors.allowOrigins.includes('*');
    this.origins = new OriginMatcher(unsafe ? [] : cors.allowOrigins);
    this.credentials = cors.allowCredentials;
    this.allowMethods = cors.allowMethods.join(', ');
    this.exposeHeaders = cors.exposeHeaders.length === 0 ? null : cors.exposeHeaders.join(', ');
    this.maxAge = cors.maxAgeSeconds === undefined ? null : String(cors.maxAgeSeconds);
    this.preflightGate = clientIp === undefined ? null : new ClientIpStep(clientIp);
    this.#methods = new Set(cors.allowMethods);
    this.#headers = new Set(cors.allowHeaders);
    this.#anyHeader = this.#headers.has('*');
  }

  /** The Access-Control-Allow-Origin value for an allowed origin: "*" only when every origin is and no credentials are. */
  allowOriginFor(origin: string): string {
    return this.origins.any && !this.credentials ? '*' : origin;
  }

  allowsMethod(method: string): boolean {
    return this.#methods.has(method);
  }

  /**
   * Whether every name in an Access-Control-Request-Headers value is allowed (case-insensitive). "*" admits any but
   * authorization, which must be named, as the Fetch standard's own wildcard does.
   */
  allowsHeaders(requested: string): boolean {
    for (const part of requested.split(',')) {
      const name = part.trim().toLowerCase();
      if (name === '') continue;
      if (this.#headers.has(name)) continue;
      if (this.#anyHeader && name !== 'authorization') continue;
      return false;
    }
    return true;
  }
}

/** null for a route without CORS: its requests skip all of it. */
export function buildRouteCors(cors: TableCors | undefined, clientIp: TableClientIpRules | undefined): RouteCors | null {
  return cors === undefined ? null : new RouteCors(cors, clientIp);
}
