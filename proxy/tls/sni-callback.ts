// The HTTPS listener's SNICallback: the certificate (and client CA) of the name the client asks for, from the store of
// the table being served, read at each handshake so a swapped table's certificates are used by the next handshake.
// A name nothing matches (with no default), and a host without a usable certificate, are refused: the handshake ends
// there, and no certificate (in particular not the default one) is sent. (A client sending no name gets the listener's
// own context: the default certificate, or none; see start-gateway.ts.)
import type { SecureContext, TLSSocket } from 'node:tls';
import type { CertificateStore } from './certificate-store.ts';
import { askForClientCertificate } from './client-certificate.ts';

export type SniCallback = (this: TLSSocket, servername: string, done: (err: Error | null, context?: SecureContext) => void) => void;

/** Node destroys the connection with it (the server's tlsClientError); it names no host, so it costs no allocation. */
const REFUSED = Object.freeze(new Error('no certificate for the requested server name'));

export function sniCallback(current: () => CertificateStore | null): SniCallback {
  // A function, not an arrow: Node calls it on the TLSSocket of the handshake, which a host with a client CA needs.
  return function (this: TLSSocket, servername, done) {
    const store = current();
    const host = store?.lookup(servername) ?? null;
    if (host === null || host.context === null) return done(REFUSED);
    if (host.clientCa !== null) askForClientCertificate(this, host.clientCa);
    done(null, host.context);
  };
}
