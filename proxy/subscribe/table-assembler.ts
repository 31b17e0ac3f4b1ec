// Puts a table back together from its `table-part` messages. Each part is already validated (the stream schema
// checks its routes and backends), so the whole table never needs a second, all-at-once validation.
import type { TablePartMessage } from '../table/stream-protocol.ts';
import type { RoutingTable, TableAuthorizer, TableBackend, TableCertificate, TableRatePolicy, TableRoute, TableTlsHost } from '../table/table-schema.ts';

export type AssembleResult = { kind: 'incomplete' } | { kind: 'complete'; table: RoutingTable; schema: number } | { kind: 'out-of-order'; error: string };

export class TableAssembler {
  #version: string | undefined;
  #next = 0;
  #routes: TableRoute[] = [];
  #backends: TableBackend[] = [];
  #authorizers: TableAuthorizer[] = [];
  #ratePolicies: TableRatePolicy[] = [];
  #certificates: TableCertificate[] = [];
  #tlsHosts: TableTlsHost[] = [];

  add(part: TablePartMessage): AssembleResult {
    if (part.part === 0) this.#start(part.version);
    else if (part.version !== this.#version || part.part !== this.#next) {
      const error = `table ${part.version}: got part ${part.part + 1}/${part.parts}, expected part ${this.#next + 1} of ${this.#version ?? 'no table'}`;
      this.#start(undefined);
      return { kind: 'out-of-order', error };
    }
    for (const r of part.routes) this.#routes.push(r);
    for (const b of part.backends) this.#backends.push(b);
    for (const a of part.authorizers) this.#authorizers.push(a);
    for (const p of part.ratePolicies) this.#ratePolicies.push(p);
    for (const c of part.certificates) this.#certificates.push(c);
    for (const h of part.tlsHosts) this.#tlsHosts.push(h);
    this.#next++;
    if (this.#next < part.parts) return { kind: 'incomplete' };
    // The schema literal is checked by the caller (an unknown schema is a NACK with a clear message).
    const table = { schema: part.schema, version: part.version, routes: this.#routes, backends: this.#backends, authorizers: this.#authorizers, ratePolicies: this.#ratePolicies, certificates: this.#certificates, tlsHosts: this.#tlsHosts } as RoutingTable;
    this.#start(undefined);
    return { kind: 'complete', table, schema: part.schema };
  }

  /** A dropped connection loses any half-received table. */
  reset(): void {
    this.#start(undefined);
  }

  #start(version: string | undefined): void {
    this.#version = version;
    this.#next = 0;
    this.#routes = [];
    this.#backends = [];
    this.#authorizers = [];
    this.#ratePolicies = [];
    this.#certificates = [];
    this.#tlsHosts = [];
  }
}
