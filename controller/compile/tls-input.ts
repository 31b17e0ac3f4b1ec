// The compile's TLS inputs and outputs that are not resources: the default certificate's Secret, and the pairs served
// handed back (in `accepted`) so that the next compile can keep one serving while its Secret holds an invalid pair.
import type { ClusterIndex } from './cluster-index.ts';
import type { CompileInput } from './compile-types.ts';
import type { TableCertificate } from '../../proxy/table/table-schema.ts';
import type { DefaultCertificate } from './tls-assembly.ts';
import { certificateId, readTlsSecret } from './tls-secrets.ts';

export function defaultCertificateOf(input: Pick<CompileInput, 'defaultTlsSecret'>, cluster: ClusterIndex): DefaultCertificate | null {
  const ref = input.defaultTlsSecret;
  if (ref === undefined) return null;
  return { id: certificateId(ref.namespace, ref.name), check: readTlsSecret(cluster, ref.namespace, ref.name) };
}

/** `accepted` with the served pairs under their "Secret/…" keys (the same map when they are there already). */
export function withServedCertificates(accepted: Map<string, unknown>, served: ReadonlyMap<string, TableCertificate>): Map<string, unknown> {
  let same = true;
  let secrets = 0;
  for (const [key, value] of accepted) {
    if (!key.startsWith('Secret/')) continue;
    secrets++;
    if (served.get(key) !== value) same = false;
  }
  if (same && secrets === served.size) return accepted;
  const out = new Map<string, unknown>();
  for (const [key, value] of accepted) if (!key.startsWith('Secret/')) out.set(key, value);
  for (const [key, value] of served) out.set(key, value);
  return out;
}
