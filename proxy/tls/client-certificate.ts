// Client certificates (mutual TLS) per host. Node asks for client certificates per server (`requestCert`), which would
// make every host of the listener ask (browsers then show a certificate picker everywhere). So the listener asks
// no one, and the SNI callback turns the request on for the one connection whose host has a CA bundle, verifying
// against that host's bundle (its SecureContext's CA store), without refusing at the handshake: the request path
// decides, per route, with a JSON answer (403) rather than a bare TLS alert. The connection remembers which bundle
// verified it, so a certificate verified for one host is never taken for a route that trusts another CA.
//
// Turning the request on per connection uses the TLSSocket's handle (`setVerifyMode`, what `renegotiate` uses), which
// Node does not document: if it is ever missing, no certificate is asked for and routes that require one refuse every
// request (fail closed).
import type { TLSSocket } from 'node:tls';
import type { GatewayRequest } from '../server/gateway-request.ts';
import type { X509Certificate } from 'node:crypto';
import type { TableClientCertificate } from '../table/table-schema.ts';
import type { Consumer, Denial, PolicyContext, PolicyStep, StepOutcome } from '../policy/policy-types.ts';

/** The header naming the verified client certificate upstream (Envoy's format); always removed from the client's request. */
export const CLIENT_CERT_HEADER = 'x-forwarded-client-cert';

interface Session {
  /** The CA bundle the connection's client certificate was verified against. */
  ca: string;
  identity: ClientIdentity | null | undefined;
}

export interface ClientIdentity {
  /** The subject's CN, or the whole subject when it has none. */
  name: string;
  /** The Envoy x-forwarded-client-cert value: Hash, Subject, URI and DNS SANs. */
  header: string;
}

const sessions = new WeakMap<TLSSocket, Session>();

interface SocketInternals {
  _requestCert?: boolean;
  _rejectUnauthorized?: boolean;
  _handle?: { setVerifyMode?: (request: boolean, reject: boolean) => void } | null;
}

export function askForClientCertificate(socket: TLSSocket, ca: string): void {
  const internals = socket as unknown as SocketInternals;
  const handle = internals._handle;
  if (handle?.setVerifyMode === undefined) return;
  handle.setVerifyMode(true, false);
  // So Node works out `authorized` when the handshake ends, and leaves the verdict to the request path.
  internals._requestCert = true;
  internals._rejectUnauthorized = false;
  sessions.set(socket, { ca, identity: undefined });
}

/** The TLS socket under a request (HTTP/1.1: the socket; HTTP/2: its session's). */
function tlsSocketOf(req: GatewayRequest): TLSSocket | null {
  const stream = (req as unknown as { stream?: { session?: { socket?: unknown } } }).stream;
  const socket = (stream?.session?.socket ?? req.socket) as TLSSocket | undefined;
  return socket !== undefined && socket.encrypted === true ? socket : null;
}

/** The client certificate's identity when `ca` verified it on this request's connection; null otherwise. */
export function verifiedClient(req: GatewayRequest, ca: string): ClientIdentity | null {
  const socket = tlsSocketOf(req);
  if (socket === null) return null;
  const session = sessions.get(socket);
  if (session === undefined || session.ca !== ca || !socket.authorized) return null;
  if (session.identity === undefined) session.identity = identityOf(socket);
  return session.identity;
}

function identityOf(socket: TLSSocket): ClientIdentity | null {
  const cert = socket.getPeerX509Certificate();
  if (cert === undefined) return null;
  return identityOfCertificate(cert);
}

export function identityOfCertificate(cert: X509Certificate): ClientIdentity {
  const subject = cert.subject.split('\n').filter((s) => s !== '');
  const cn = subject.find((s) => s.startsWith('CN='));
  const subjectText = subject.join(',');
  const sans = (cert.subjectAltName ?? '').split(', ').filter((s) => s !== '');
  const parts = [`Hash=${cert.fingerprint256.replaceAll(':', '').toLowerCase()}`, `Subject=${quoted(subjectText)}`];
  for (const san of sans) {
    if (san.startsWith('URI:')) parts.push(`URI=${san.slice(4)}`);
    else if (san.startsWith('DNS:')) parts.push(`DNS=${san.slice(4)}`);
  }
  return { name: cn === undefined ? subjectText : cn.slice(3), header: parts.join(';') };
}

function quoted(text: string): string {
  return `"${text.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

const REQUIRED: Denial = { status: 403, error: 'client certificate required', reason: 'client_certificate' };

/**
 * A route's client-certificate requirement, first in its policy chain. The verified certificate's identity is forwarded
 * upstream and becomes the consumer (an authorizer later in the chain replaces it with its own).
 */
export class ClientCertificateStep implements PolicyStep {
  readonly #rule: TableClientCertificate;

  constructor(rule: TableClientCertificate) {
    this.#rule = rule;
  }

  run(ctx: PolicyContext): StepOutcome {
    const identity = verifiedClient(ctx.req, this.#rule.ca);
    if (identity === null) return this.#rule.mode === 'required' ? REQUIRED : null;
    ctx.consumer = consumerOf(identity, this.#rule.ca);
    (ctx.upstreamHeaders ??= []).push([CLIENT_CERT_HEADER, identity.header]);
    return null;
  }
}

function consumerOf(identity: ClientIdentity, ca: string): Consumer {
  return { name: identity.name, authorizer: `client-certificate:${ca}`, plan: undefined, claims: {} };
}
