// Informer caches hold every watched object for the life of the process. Two fields are large and never read by
// the gateway: managedFields (server-side apply bookkeeping) and kubectl's last-applied annotation (a second copy
// of the whole object). Dropping them in place, as objects enter the cache, roughly halves the cache at 10k routes.
import type { KubernetesObject } from '@kubernetes/client-node';

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

export function slimObject(obj: KubernetesObject): void {
  const metadata = obj.metadata;
  if (!metadata) return;
  if (metadata.managedFields !== undefined) delete metadata.managedFields;
  if (metadata.annotations && LAST_APPLIED in metadata.annotations) {
    const { [LAST_APPLIED]: _dropped, ...rest } = metadata.annotations;
    metadata.annotations = rest;
  }
}
