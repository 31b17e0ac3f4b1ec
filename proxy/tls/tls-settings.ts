// The HTTPS listener's protocol settings: TLS 1.2 or newer, and for TLS 1.2 only ECDHE key exchange with AEAD
// ciphers (forward secrecy, no CBC, no RSA key transport), as in Mozilla's "intermediate" profile. TLS 1.3's suites
// are all AEAD with ephemeral keys.
//
// Session resumption is off (no tickets; Node keeps no session cache): tickets are sealed with the listener's keys,
// not a host's, so a session whose client certificate one host's CA verified could be resumed under another host's
// name. Every connection makes a full handshake (about a millisecond of CPU with ECDHE).
import { constants } from 'node:crypto';

export const TLS_MIN_VERSIONS = ['TLSv1.2', 'TLSv1.3'] as const;
export type TlsMinVersion = (typeof TLS_MIN_VERSIONS)[number];

export const MODERN_CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

export interface TlsSettings {
  minVersion: TlsMinVersion;
  /** OpenSSL cipher list (TLS 1.3 suites by their TLS_ names). */
  ciphers: string;
}

export const DEFAULT_TLS_SETTINGS: TlsSettings = { minVersion: 'TLSv1.2', ciphers: MODERN_CIPHERS };

/** The options every secure context of the listener is made with (a host's certificate and CA are added to them). */
export function contextOptions(settings: TlsSettings): { minVersion: TlsMinVersion; ciphers: string; honorCipherOrder: true; secureOptions: number } {
  return { minVersion: settings.minVersion, ciphers: settings.ciphers, honorCipherOrder: true, secureOptions: constants.SSL_OP_NO_TICKET };
}
