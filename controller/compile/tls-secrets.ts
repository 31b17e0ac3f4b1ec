// The TLS Secrets an ApiRoute (or the --default-tls-secret flag) names, read and checked: a certificate and key that
// parse and belong together (x509.checkPrivateKey), a CA bundle whose every block is a certificate. Messages name the
// field, the Secret and its keys, never a value. Checks are memoised per Secret object (sources hand in the same
// object while a Secret is unchanged), so recompiling costs no PEM parsing.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import type { TableCertificate } from '../../proxy/table/table-schema.ts';
import type { ClusterIndex } from './cluster-index.ts';
import type { SecretInfo } from './compile-types.ts';
import type { RefProblem } from './conditions.ts';

/** A checked certificate and key pair, with its validity window (ms since the epoch) for the expiry check. */
export interface CheckedPair {
  certificate: TableCertificate;
  notBefore: number;
  notAfter: number;
}

export type PairCheck = { ok: true; pair: CheckedPair } | { ok: false; reason: 'SecretNotFound' | 'InvalidCertificate'; message: string };

/** The label the controller selects Secrets by (kube-source.ts DEFAULT_SECRET_SELECTOR, the chart's default). */
const SECRET_LABEL = 'gatehouse.dev/secret';

export function certificateId(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

export function notFound(namespace: string, name: string): string {
  return `Secret ${namespace}/${name} not found (in a cluster the controller reads only Secrets labelled ${SECRET_LABEL})`;
}

const checked = new WeakMap<object, PairCheck>();

/** The `kubernetes.io/tls` Secret `name`: keys tls.crt and tls.key. */
export function readTlsSecret(cluster: ClusterIndex, namespace: string, name: string): PairCheck {
  const secret = cluster.secret(namespace, name);
  if (secret === undefined) return { ok: false, reason: 'SecretNotFound', message: notFound(namespace, name) };
  let result = checked.get(secret);
  if (result === undefined) checked.set(secret, (result = checkSecret(secret)));
  return result;
}

function checkSecret(secret: SecretInfo): PairCheck {
  const id = certificateId(secret.namespace, secret.name);
  const certPem = secret.data['tls.crt'];
  const keyPem = secret.data['tls.key'];
  const missing = certPem === undefined ? 'tls.crt' : keyPem === undefined ? 'tls.key' : null;
  if (missing !== null) return { ok: false, reason: 'InvalidCertificate', message: `Secret ${id} has no key ${JSON.stringify(missing)} (a kubernetes.io/tls Secret has tls.crt and tls.key)` };
  return checkPair(id, certPem as string, keyPem as string);
}

/** A pair as a previous compile accepted it (fed back through lastAccepted): checked again, memoised per object. */
export function recheckPair(previous: unknown): CheckedPair | null {
  if (typeof previous !== 'object' || previous === null) return null;
  let result = checked.get(previous);
  if (result === undefined) {
    const p = previous as Partial<TableCertificate>;
    result =
      typeof p.id === 'string' && typeof p.certPem === 'string' && typeof p.keyPem === 'string'
        ? checkPair(p.id, p.certPem, p.keyPem)
        : { ok: false, reason: 'InvalidCertificate', message: 'not a certificate pair' };
    checked.set(previous, result);
  }
  return result.ok ? result.pair : null;
}

export function checkPair(id: string, certPem: string, keyPem: string): PairCheck {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch {
    return { ok: false, reason: 'InvalidCertificate', message: `Secret ${id} key "tls.crt" is not a PEM certificate` };
  }
  let key;
  try {
    key = createPrivateKey(keyPem);
  } catch {
    return { ok: false, reason: 'InvalidCertificate', message: `Secret ${id} key "tls.key" is not a PEM private key` };
  }
  if (!cert.checkPrivateKey(key)) return { ok: false, reason: 'InvalidCertificate', message: `Secret ${id}: the private key in "tls.key" does not match the certificate in "tls.crt"` };
  return { ok: true, pair: { certificate: { id, certPem, keyPem }, notBefore: Date.parse(cert.validFrom), notAfter: Date.parse(cert.validTo) } };
}

export type CaCheck = { ok: true; caPem: string } | { ok: false; problem: RefProblem };

/** A CA bundle Secret (key ca.crt): every PEM block a certificate. */
export function readCaSecret(cluster: ClusterIndex, namespace: string, name: string, path: string): CaCheck {
  const secret = cluster.secret(namespace, name);
  if (secret === undefined) return { ok: false, problem: { path, reason: 'SecretNotFound', message: notFound(namespace, name) } };
  const caPem = secret.data['ca.crt'];
  const id = certificateId(namespace, name);
  if (caPem === undefined) return { ok: false, problem: { path, reason: 'InvalidCertificate', message: `Secret ${id} has no key "ca.crt"` } };
  const blocks = caPem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  const valid =
    blocks.length > 0 &&
    blocks.every((b) => {
      try {
        new X509Certificate(b);
        return true;
      } catch {
        return false;
      }
    });
  if (!valid) return { ok: false, problem: { path, reason: 'InvalidCertificate', message: `Secret ${id} key "ca.crt" is not a bundle of PEM certificates` } };
  return { ok: true, caPem: blocks.join('\n') + '\n' };
}
