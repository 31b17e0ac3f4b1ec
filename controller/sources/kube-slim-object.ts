// Informer caches hold every watched object for the life of the process. Two fields are large and never read by
// the gateway: managedFields (server-side apply bookkeeping) and kubectl's last-applied annotation (a second copy
// of the whole object). Dropping them in place, as objects enter the cache, roughly halves the cache at 10k routes.
import type { KubernetesObject } from '@kubernetes/client-node';

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * Replaces metadata with a copy that leaves them out: `delete` would turn each metadata object into a dictionary-mode
 * object (a hash table of its properties, ~370 bytes more per object in the heap).
 */
export function slimObject(obj: KubernetesObject): void {
  const metadata = obj.metadata;
  if (!metadata) return;
  const lastApplied = metadata.annotations !== undefined && LAST_APPLIED in metadata.annotations;
  if (metadata.managedFields === undefined && !lastApplied) return;
  const { managedFields: _managed, ...kept } = metadata;
  if (lastApplied && kept.annotations) {
    const { [LAST_APPLIED]: _dropped, ...rest } = kept.annotations;
    kept.annotations = rest;
  }
  obj.metadata = kept;
}
