// A PEM CA bundle read from a Secret key, for whatever verifies an upstream's certificate (backends, JWKS URIs).
// Only CERTIFICATE blocks that parse as X.509 are kept, re-encoded, so nothing else in the key (a private key pasted
// by mistake, comments) ever reaches a proxy. Problems name the Secret, the key and the field, never the content.
import { X509Certificate } from 'node:crypto';
import type { ClusterIndex } from './cluster-index.ts';
import type { RefProblem } from './conditions.ts';

export type CaBundle = { ok: true; pem: string } | { ok: false; problem: RefProblem };

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

/** `path`: the field naming the Secret (e.g. "spec.rules[0].backends[0].tls.caSecretName"), for the problem. */
export function caBundleFromSecret(cluster: ClusterIndex, namespace: string, name: string, key: string, path: string): CaBundle {
  const secret = cluster.secret(namespace, name);
  const who = `Secret ${namespace}/${name}`;
  if (secret === undefined) return { ok: false, problem: { path, reason: 'SecretNotFound', message: `${who} not found` } };
  const text = secret.data[key];
  if (text === undefined) return { ok: false, problem: { path, reason: 'SecretNotFound', message: `${who} has no key ${JSON.stringify(key)}` } };
  const pem = certificatesOf(text);
  if (typeof pem !== 'string') return { ok: false, problem: { path, reason: 'InvalidSecret', message: `${who} key ${JSON.stringify(key)} ${pem.error}` } };
  return { ok: true, pem };
}

/** The bundle's certificates as PEM, or what is wrong with it (never quoting it). */
export function certificatesOf(text: string): string | { error: string } {
  const out: string[] = [];
  let index = 0;
  for (const m of text.matchAll(BLOCK)) {
    if (m[1] !== 'CERTIFICATE') continue;
    index++;
    try {
      out.push(new X509Certificate(m[0]).toString());
    } catch {
      return { error: `holds a certificate that does not parse (PEM block ${index})` };
    }
  }
  if (out.length === 0) return { error: 'holds no PEM certificate' };
  return out.join('');
}
