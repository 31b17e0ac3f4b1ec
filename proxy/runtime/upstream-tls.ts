// How the proxy verifies an https upstream: which CAs it trusts, which name it sends as SNI and checks the
// certificate for, and whether it checks at all. The same options serve the backend pools (undici) and WebSocket
// upgrades (node:https, ws), and the trust store serves every other https client of the proxy (JWKS fetches).
//
// "The system CAs" are Node's bundled Mozilla roots, the operating system's store (on Linux OpenSSL's default
// file and directory, which SSL_CERT_FILE / SSL_CERT_DIR move) and NODE_EXTRA_CA_CERTS, read once per process.
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { checkServerIdentity, createSecureContext, getCACertificates, type ConnectionOptions, type PeerCertificate, type SecureContext } from 'node:tls';
import type { TableBackend, TableBackendTls } from '../table/table-schema.ts';

let systemContext: SecureContext | null = null;

/** The system CA certificates (PEM), each once. */
export function systemCaCertificates(): string[] {
  return [...new Set([...getCACertificates('default'), ...getCACertificates('system')])];
}

/** A context trusting only `caPem`, or the system CAs when it is undefined (built once, shared). */
export function trustContext(caPem: string | undefined): SecureContext {
  if (caPem !== undefined) {
    try {
      return createSecureContext({ ca: caPem });
    } catch {
      // The compiler only writes certificates that parse; should OpenSSL still refuse one, trust nothing (fail closed).
      return createSecureContext({ ca: [] });
    }
  }
  systemContext ??= createSecureContext({ ca: systemCaCertificates() });
  return systemContext;
}

/** The TLS side of an upstream endpoint. */
export interface UpstreamTls {
  /** Part of the endpoint's pool key: another CA, name or verification choice is another pool. */
  readonly key: string;
  /** SNI for undici's per-request `servername` (which otherwise follows the Host header); undefined for an IP. */
  readonly servername: string | undefined;
  /** For tls.connect: the trust, SNI, the name check and whether a failed check refuses the connection. */
  readonly connect: Readonly<Pick<ConnectionOptions, 'secureContext' | 'servername' | 'checkServerIdentity' | 'rejectUnauthorized'>>;
}

/**
 * The settings of an https backend: its table `tls`, or for a hand-written table without it the system CAs and its
 * Host header's name (the proxy's behaviour before backends carried TLS settings). null for http backends.
 */
export function upstreamTlsSettings(backend: TableBackend): TableBackendTls | null {
  if (backend.protocol !== 'https') return null;
  if (backend.tls !== undefined) return backend.tls;
  const host = backend.hostHeader?.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
  return { serverName: host ?? backend.endpoints[0]?.host ?? 'localhost', insecureSkipVerify: false };
}

/** The pool key part of these settings, cheap enough to compute on every table build. */
export function upstreamTlsKey(settings: TableBackendTls): string {
  const ca = settings.caPem === undefined ? 'system' : createHash('sha256').update(settings.caPem).digest('hex').slice(0, 32);
  return `${ca}|${settings.serverName}|${settings.insecureSkipVerify ? 'insecure' : 'verify'}`;
}

/** Connect options for these settings (building a secure context: only when a pool is created for them). */
export function upstreamTls(settings: TableBackendTls, key: string = upstreamTlsKey(settings)): UpstreamTls {
  const name = settings.serverName;
  const ip = isIP(name) !== 0;
  return {
    key,
    servername: ip ? undefined : name,
    connect: {
      secureContext: trustContext(settings.caPem),
      // "" turns SNI off (RFC 6066 has no IP names); the certificate is still checked for the IP.
      servername: ip ? '' : name,
      // The configured name, whatever host the connection went to (a Service's pod IP) or SNI carried.
      checkServerIdentity: (_host: string, cert: PeerCertificate) => checkServerIdentity(name, cert),
      rejectUnauthorized: !settings.insecureSkipVerify,
    },
  };
}
