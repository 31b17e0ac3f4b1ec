// The HTTPS listener's flags, for `gatehouse proxy` and `gatehouse standalone` (one definition for both): its port,
// the minimum TLS version, and the port https redirects name. Certificates come from the routing table (docs/tls.md).
import { z } from 'zod';
import type { GatewayOptions } from '../../proxy/server/start-gateway.ts';
import { DEFAULT_TLS_SETTINGS, TLS_MIN_VERSIONS } from '../../proxy/tls/tls-settings.ts';
import { defineFlags, type FlagValues } from './flag-definitions.ts';

const port = z.coerce.number().int().min(0).max(65535);

export const TLS_FLAGS = defineFlags({
  'https-port': { value: 'N', schema: port, description: 'also serve HTTPS on this port, certificates chosen by SNI from the ApiRoutes (off by default)' },
  'tls-min-version': { value: 'VERSION', schema: z.enum(TLS_MIN_VERSIONS), default: 'TLSv1.2', description: 'the oldest TLS version the HTTPS port accepts (TLSv1.2 or TLSv1.3)' },
  'https-redirect-port': {
    value: 'N',
    schema: z.coerce.number().int().min(1).max(65535),
    default: '443',
    description: 'the port in the redirects of routes with spec.tls.httpsRedirect (443 is left out of the URL)',
  },
});

/** `NS/NAME`, or `NAME` in the namespace "default": the proxy-wide default certificate's Secret. */
export const DEFAULT_TLS_SECRET_FLAGS = defineFlags({
  'default-tls-secret': {
    value: 'NS/NAME',
    schema: z
      .string()
      .regex(/^(?:[a-z0-9]([-a-z0-9]*[a-z0-9])?\/)?[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'must be NAME or NAMESPACE/NAME of a kubernetes.io/tls Secret')
      .transform((s) => (s.includes('/') ? { namespace: s.slice(0, s.indexOf('/')), name: s.slice(s.indexOf('/') + 1) } : { namespace: 'default', name: s })),
    description: 'the kubernetes.io/tls Secret served to names no ApiRoute claims and to clients sending no SNI',
  },
});

export type TlsFlags = FlagValues<typeof TLS_FLAGS>;

export function tlsOptions(flags: TlsFlags): Pick<GatewayOptions, 'https' | 'httpsRedirectPort'> {
  const redirect = { httpsRedirectPort: flags['https-redirect-port'] };
  const port = flags['https-port'];
  if (port === undefined) return redirect;
  return { ...redirect, https: { port, settings: { ...DEFAULT_TLS_SETTINGS, minVersion: flags['tls-min-version'] } } };
}
