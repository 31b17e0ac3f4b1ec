// The HTTPS listener's certificates for one routing table: a SecureContext per (certificate, client CA) pair in use,
// and the lookup SNI takes (exact host, then a one-label wildcard, then the default "*"). Built at table apply, with
// the previous table's contexts carried over while their PEMs are the same, so a table swap that leaves certificates
// alone builds none (like endpoint pools); a changed one gets a new context that new handshakes use at once, while
// connections already open keep the one they were made with.
import { createSecureContext, type SecureContext } from 'node:tls';
import type { Logger } from 'pino';
import type { TableCertificate, TableTlsHost } from '../table/table-schema.ts';
import { contextOptions, type TlsSettings } from './tls-settings.ts';

/** What a handshake for one name gets. */
export interface HostTls {
  /** The context to answer with; null when the host has no usable certificate (the handshake is refused). */
  context: SecureContext | null;
  /** The CA bundle's id when the host asks clients for certificates, verified against that bundle; else null. */
  clientCa: string | null;
}

interface BuiltContext {
  certPem: string;
  keyPem: string;
  caPem: string | null;
  context: SecureContext | null;
}

export class CertificateStore {
  readonly #exact = new Map<string, HostTls>();
  /** By the suffix after "*." ("example.com" for "*.example.com"). */
  readonly #wildcard = new Map<string, HostTls>();
  readonly #fallback: HostTls | null;
  /** By `${certificate id}\n${client CA id}`: handed on to the next store. */
  readonly contexts = new Map<string, BuiltContext>();
  /** The default host's certificate: what clients that send no SNI are answered with (the listener's own context). */
  readonly defaultCertificate: TableCertificate | null;
  readonly settings: TlsSettings;

  constructor(certificates: readonly TableCertificate[], hosts: readonly TableTlsHost[], settings: TlsSettings, previous: CertificateStore | null, logger: Logger | null) {
    this.settings = settings;
    const sameSettings = previous !== null && previous.settings === settings;
    const byId = new Map(certificates.map((c) => [c.id, c]));
    let fallback: HostTls | null = null;
    let defaultCertificate: TableCertificate | null = null;
    for (const host of hosts) {
      const certificate = host.certificate === null ? undefined : byId.get(host.certificate);
      const clientCa = host.clientCa ?? null;
      let context: SecureContext | null = null;
      if (certificate !== undefined) {
        const key = `${certificate.id}\n${clientCa?.id ?? ''}`;
        let built = this.contexts.get(key);
        if (built === undefined) {
          const old = sameSettings ? previous.contexts.get(key) : undefined;
          built =
            old !== undefined && old.certPem === certificate.certPem && old.keyPem === certificate.keyPem && old.caPem === (clientCa?.caPem ?? null)
              ? old
              : buildContext(certificate, clientCa?.caPem ?? null, settings, logger);
          this.contexts.set(key, built);
        }
        if (built.context !== null) context = built.context;
      }
      const entry: HostTls = { context, clientCa: clientCa?.id ?? null };
      if (host.id === '*') {
        fallback = entry;
        defaultCertificate = certificate ?? null;
      } else if (host.id.startsWith('*.')) this.#wildcard.set(host.id.slice(2), entry);
      else this.#exact.set(host.id, entry);
    }
    this.#fallback = fallback;
    this.defaultCertificate = defaultCertificate;
  }

  /** What a handshake naming `servername` gets; null when nothing matches and there is no default (refused). */
  lookup(servername: string): HostTls | null {
    const name = servername.toLowerCase();
    const exact = this.#exact.get(name);
    if (exact !== undefined) return exact;
    const dot = name.indexOf('.');
    if (dot > 0) {
      const wildcard = this.#wildcard.get(name.slice(dot + 1));
      if (wildcard !== undefined) return wildcard;
    }
    return this.#fallback;
  }
}

function buildContext(certificate: TableCertificate, caPem: string | null, settings: TlsSettings, logger: Logger | null): BuiltContext {
  let context: SecureContext | null = null;
  try {
    context = createSecureContext({ ...contextOptions(settings), cert: certificate.certPem, key: certificate.keyPem, ...(caPem !== null && { ca: caPem }) });
  } catch (err) {
    // The compiler checked the pair; a proxy that still cannot use it refuses the host rather than fail the table.
    // The error names no key material (OpenSSL's reason only).
    logger?.error({ certificate: certificate.id, reason: err instanceof Error ? err.message : String(err) }, 'certificate not usable; its hosts are refused');
  }
  return { certPem: certificate.certPem, keyPem: certificate.keyPem, caPem, context };
}
