// Certificates for tests, made by the openssl CLI (an independent issuer: the product's own code only checks and
// serves them): CAs, leaf certificates for server names (SANs) or clients, each with its PEM key. EC P-256 keys, so a
// test makes dozens in well under a second.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestPair {
  certPem: string;
  keyPem: string;
}

const KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

function inTemp<T>(work: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-certs-'));
  try {
    return work(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A self-signed CA. */
export function testCa(cn: string): TestPair {
  return inTemp((dir) => {
    openssl(['req', '-x509', ...KEY, '-keyout', 'k.pem', '-out', 'c.pem', '-days', '3650', '-subj', `/CN=${cn}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
    return { certPem: readFileSync(join(dir, 'c.pem'), 'utf8'), keyPem: readFileSync(join(dir, 'k.pem'), 'utf8') };
  });
}

/**
 * A certificate for `subject` (e.g. "/CN=api.example.com/O=Acme") with `sans` ("DNS:api.example.com", "URI:spiffe://…"),
 * issued by `ca`, or self-signed without one. `days` may be negative for one that expired already.
 */
export function testCertificate(subject: string, sans: string[], ca?: TestPair, options: { client?: boolean } = {}): TestPair {
  return inTemp((dir) => {
    const usage = options.client ? 'clientAuth' : 'serverAuth';
    writeFileSync(join(dir, 'ext.cnf'), `basicConstraints=CA:FALSE\nextendedKeyUsage=${usage}\n${sans.length > 0 ? `subjectAltName=${sans.join(',')}\n` : ''}`);
    if (ca === undefined) {
      openssl(['req', '-x509', ...KEY, '-keyout', 'k.pem', '-out', 'c.pem', '-days', '3650', '-subj', subject, '-extensions', 'v3', '-config', configWith(dir)], dir);
    } else {
      writeFileSync(join(dir, 'ca.pem'), ca.certPem);
      writeFileSync(join(dir, 'ca.key'), ca.keyPem);
      openssl(['req', '-new', ...KEY, '-keyout', 'k.pem', '-out', 'r.csr', '-subj', subject], dir);
      openssl(['x509', '-req', '-in', 'r.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'c.pem', '-days', '3650', '-extfile', 'ext.cnf'], dir);
    }
    return { certPem: readFileSync(join(dir, 'c.pem'), 'utf8'), keyPem: readFileSync(join(dir, 'k.pem'), 'utf8') };
  });
}

/** An openssl config whose [v3] section is ext.cnf, for self-signed `req -x509`. */
function configWith(dir: string): string {
  const path = join(dir, 'req.cnf');
  writeFileSync(path, `[req]\ndistinguished_name=dn\n[dn]\n[v3]\n${readFileSync(join(dir, 'ext.cnf'), 'utf8')}`);
  return path;
}

/** A Secret manifest (YAML) of type kubernetes.io/tls, with a label the controller selects. */
export function tlsSecretYaml(name: string, pair: TestPair, namespace = 'default'): string {
  return secretYaml(name, namespace, 'kubernetes.io/tls', { 'tls.crt': pair.certPem, 'tls.key': pair.keyPem });
}

export function caSecretYaml(name: string, caPem: string, namespace = 'default'): string {
  return secretYaml(name, namespace, 'Opaque', { 'ca.crt': caPem });
}

function secretYaml(name: string, namespace: string, type: string, data: Record<string, string>): string {
  const entries = Object.entries(data).map(([k, v]) => `  ${k}: ${Buffer.from(v).toString('base64')}`);
  return `apiVersion: v1\nkind: Secret\nmetadata:\n  name: ${name}\n  namespace: ${namespace}\n  labels:\n    gatehouse.dev/secret: "true"\ntype: ${type}\ndata:\n${entries.join('\n')}\n`;
}
