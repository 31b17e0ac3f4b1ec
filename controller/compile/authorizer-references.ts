// An Authorizer's references: the JWKS Secret (and key), the API-key Secrets selected by label, the external
// authorizer Service. Messages name Secrets and keys, never their values.
import type { Authorizer } from '../../crds/schemas/index.ts';
import type { ClusterIndex } from './cluster-index.ts';
import type { RefProblem } from './conditions.ts';

export function checkAuthorizerReferences(authorizer: Authorizer, cluster: ClusterIndex): RefProblem[] {
  const ns = authorizer.metadata.namespace;
  const { jwt, apiKey, external } = authorizer.spec;
  const problems: RefProblem[] = [];
  const secretRef = jwt?.jwks.secretRef;
  if (secretRef) {
    const secret = cluster.secret(ns, secretRef.name);
    if (!secret) problems.push({ path: 'spec.jwt.jwks.secretRef', reason: 'SecretNotFound', message: `Secret ${ns}/${secretRef.name} not found` });
    else if (!Object.hasOwn(secret.data, secretRef.key)) {
      problems.push({ path: 'spec.jwt.jwks.secretRef.key', reason: 'SecretNotFound', message: `Secret ${ns}/${secretRef.name} has no key ${JSON.stringify(secretRef.key)}` });
    }
  }
  if (apiKey) {
    const wanted = Object.entries(apiKey.secretSelector.matchLabels);
    const matching = cluster.secretsIn(ns).filter((s) => wanted.every(([k, v]) => s.labels[k] === v));
    if (matching.length === 0) {
      const labels = wanted.map(([k, v]) => `${k}=${v}`).join(',');
      problems.push({ path: 'spec.apiKey.secretSelector', reason: 'SecretNotFound', message: `no Secret in namespace ${ns} has the labels ${labels || '(none)'}` });
    }
  }
  if (external?.service) {
    const ref = external.service;
    const service = cluster.service(ns, ref.name);
    if (!service) problems.push({ path: 'spec.external.service', reason: 'BackendNotFound', message: `Service ${ns}/${ref.name} not found` });
    else if (!service.ports.some((p) => (typeof ref.port === 'number' ? p.port === ref.port : p.name === ref.port))) {
      problems.push({ path: 'spec.external.service.port', reason: 'BackendNotFound', message: `Service ${ns}/${ref.name} has no port ${JSON.stringify(ref.port)}` });
    }
  }
  return problems;
}
