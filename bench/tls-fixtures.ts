// The certificate the tls group's proxies (the gateway's TLS listener and nginx) terminate TLS with: a self-signed
// P-256 certificate made per run by the openssl CLI in the bench's temporary folder. The load generators do not verify
// it (wrk and h2load never do); the preflight request trusts it explicitly.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { TlsFiles } from './nginx.ts';
import { MEASURED_HOST } from './bench-tables.ts';

export function benchCertificate(dir: string): TlsFiles {
  const certFile = join(dir, 'bench-cert.pem');
  const keyFile = join(dir, 'bench-key.pem');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', `/CN=${MEASURED_HOST}`, '-addext', `subjectAltName=DNS:${MEASURED_HOST},IP:127.0.0.1`],
    { stdio: 'ignore' },
  );
  return { certFile, keyFile };
}
