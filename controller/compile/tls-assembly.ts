// The HTTPS listener's part of the table, from the served ApiRoutes' spec.tls in resolution order and the default
// certificate: the certificates some host uses (only those: a Secret no route names never reaches the table) and one
// entry per SNI host. Pure: the clock (`now`, for the expiry check) and the last valid pairs come in as input.
//
// - A Secret whose pair is missing or invalid keeps its last valid pair serving (a previous compile's `accepted`
//   holds it under "Secret/<ns>/<name>"); without one its hosts get `certificate: null` and the proxy refuses their
//   handshakes: a host that asked for its own certificate is never answered with another (the default) one.
// - Two ApiRoutes naming one host with different certificates (or client CAs): the first in resolution order (the
//   oldest) keeps the host; the other is told so by a Conflicted message. A route that names no certificate leaves the
//   choice to others (or to the default), one that names no client CA likewise.
import type { TableCertificate, TableTlsHost } from '../../proxy/table/table-schema.ts';
import type { RefProblem } from './conditions.ts';
import { cmp } from './resource-key.ts';
import type { CompiledRouteTls } from './route-compiler.ts';
import { recheckPair, type CheckedPair, type PairCheck } from './tls-secrets.ts';

export interface TlsRouteInput {
  /** "<ns>/<name>" of the ApiRoute. */
  owner: string;
  tls: CompiledRouteTls;
}

export interface DefaultCertificate {
  id: string;
  check: PairCheck;
}

export interface TlsOutcome {
  certificates: TableCertificate[];
  tlsHosts: TableTlsHost[];
  /** Per ApiRoute ("<ns>/<name>") with something to say: ResolvedRefs problems and Conflicted messages. */
  routes: Map<string, { problems: RefProblem[]; conflicts: string[] }>;
  /** "Secret/<ns>/<name>" → the pair served, for the next compile's lastAccepted. */
  served: Map<string, TableCertificate>;
  /** What is wrong with the default certificate (the flag has no resource to report on: the caller logs it). */
  defaultProblem: string | null;
}

export const DEFAULT_HOST = '*';

export function secretKey(id: string): string {
  return `Secret/${id}`;
}

export function assembleTls(routes: readonly TlsRouteInput[], defaultCertificate: DefaultCertificate | null, lastAccepted: ReadonlyMap<string, unknown> | undefined, now: number | undefined): TlsOutcome {
  const certificates = new Map<string, TableCertificate>();
  const outcome: TlsOutcome = { certificates: [], tlsHosts: [], routes: new Map(), served: new Map(), defaultProblem: null };
  const say = (owner: string): { problems: RefProblem[]; conflicts: string[] } => {
    let entry = outcome.routes.get(owner);
    if (entry === undefined) outcome.routes.set(owner, (entry = { problems: [], conflicts: [] }));
    return entry;
  };
  /** The pair to serve for a Secret's check (its own, else its last valid one), and what to say about it. */
  const resolve = (id: string, check: PairCheck): { pair: CheckedPair | null; problem: { reason: string; message: string } | null } => {
    if (check.ok) return { pair: check.pair, problem: expiry(check.pair, now) };
    const previous = recheckPair(lastAccepted?.get(secretKey(id)));
    const fallback = previous !== null && previous.certificate.id === id ? previous : null;
    const consequence = fallback === null ? 'the handshakes of its hosts are refused' : 'the last valid pair of this Secret keeps serving';
    return { pair: fallback, problem: { reason: check.reason, message: `${check.message}; ${consequence}` } };
  };
  const use = (pair: CheckedPair): string => {
    certificates.set(pair.certificate.id, pair.certificate);
    return pair.certificate.id;
  };

  let defaultId: string | null = null;
  const hosts = new Map<string, { certificate: string | null; certificateFrom: { owner: string; secret: string } | null; clientCa: { id: string; caPem: string | null; owner: string } | null }>();
  if (defaultCertificate !== null) {
    const { pair, problem } = resolve(defaultCertificate.id, defaultCertificate.check);
    if (pair !== null) defaultId = use(pair);
    if (problem !== null) outcome.defaultProblem = `default certificate (--default-tls-secret): ${problem.message}`;
    hosts.set(DEFAULT_HOST, { certificate: defaultId, certificateFrom: null, clientCa: null });
  }

  for (const { owner, tls } of routes) {
    for (const p of tls.problems) say(owner).problems.push(p);
    let certificate: string | null = defaultId;
    if (tls.certificate !== null) {
      const { pair, problem } = resolve(tls.certificate.id, tls.certificate.check);
      certificate = pair === null ? null : use(pair);
      if (problem !== null) say(owner).problems.push({ path: 'spec.tls.secretName', ...problem });
    }
    for (const host of tls.hosts) {
      let entry = hosts.get(host);
      if (entry === undefined) hosts.set(host, (entry = { certificate: defaultId, certificateFrom: null, clientCa: null }));
      if (tls.certificate !== null) {
        const from = entry.certificateFrom;
        if (from === null) {
          entry.certificate = certificate;
          entry.certificateFrom = { owner, secret: tls.certificate.id };
        } else if (from.secret !== tls.certificate.id) {
          say(owner).conflicts.push(`spec.tls.secretName (host ${host}): ApiRoute ${from.owner} serves this host with Secret ${from.secret}; this route's certificate is not used for it`);
        }
      }
      if (tls.clientCa !== null) {
        const ca = entry.clientCa;
        if (ca === null) entry.clientCa = { ...tls.clientCa, owner };
        else if (ca.id !== tls.clientCa.id) {
          say(owner).conflicts.push(
            `spec.tls.clientCertificate (host ${host}): ApiRoute ${ca.owner} verifies client certificates on this host with Secret ${ca.id}; this route's requests needing one are refused`,
          );
        }
      }
    }
  }

  for (const [id, entry] of [...hosts].sort((a, b) => cmp(a[0], b[0]))) {
    const clientCa = entry.clientCa !== null && entry.clientCa.caPem !== null ? { id: entry.clientCa.id, caPem: entry.clientCa.caPem } : undefined;
    outcome.tlsHosts.push({ id, certificate: entry.certificate, ...(clientCa && { clientCa }) });
  }
  outcome.certificates = [...certificates.values()].sort((a, b) => cmp(a.id, b.id));
  for (const c of outcome.certificates) outcome.served.set(secretKey(c.id), c);
  return outcome;
}

/** Served anyway (as nginx and Envoy do), but said: clients will refuse it. */
function expiry(pair: CheckedPair, now: number | undefined): { reason: string; message: string } | null {
  if (now === undefined) return null;
  const id = pair.certificate.id;
  if (now < pair.notBefore) return { reason: 'CertificateNotYetValid', message: `Secret ${id}: the certificate is not valid before ${new Date(pair.notBefore).toISOString()}; served anyway, clients will refuse it` };
  if (now > pair.notAfter) return { reason: 'CertificateExpired', message: `Secret ${id}: the certificate expired at ${new Date(pair.notAfter).toISOString()}; served anyway, clients will refuse it` };
  return null;
}
