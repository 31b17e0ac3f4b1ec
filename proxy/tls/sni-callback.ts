// The HTTPS listener's SNICallback: the certificate (and client CA) of the name the client asks for, from the store of
// the table being served, read at each handshake so a swapped table's certificates are used by the next handshake.
// A name nothing matches, and a host without a usable certificate, get the store's context with no certificate: the
// handshake fails with an alert. (A client sending no name gets the listener's own context: the default certificate,
// or none; see tls-listener.ts.)
import type { SecureContext, TLSSocket } from 'node:tls';
import type { CertificateStore } from './certificate-store.ts';
import { askForClientCertificate } from './client-certificate.ts';

export type SniCallback = (this: TLSSocket, servername: string, done: (err: Error | null, context?: SecureContext) => void) => void;

export function sniCallback(current: () => CertificateStore | null): SniCallback {
  // A function, not an arrow: Node calls it on the TLSSocket of the handshake, which a host with a client CA needs.
  return function (this: TLSSocket, servername, done) {
    const store = current();
    if (store === null) return done(null, undefined);
    const host = store.lookup(servername);
    if (host === null) return done(null, store.refused);
    if (host.clientCa !== null) askForClientCertificate(this, host.clientCa);
    done(null, host.context);
  };
}
