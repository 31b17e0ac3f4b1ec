// An Authorizer becomes what a proxy needs to enforce it, and nothing more: public JWKs (never private members), a CA
// bundle, API keys as salted sha256 hashes (never the keys), an external authorizer's resolved URL. Problems name
// Secrets and keys, never their values. An Authorizer that cannot be enforced compiles to `table: null`; routes that
// use it then answer 500 and are never forwarded (fail closed).
import { createHash } from 'node:crypto';
import type { Authorizer } from '../../crds/schemas/index.ts';
import { parseDurationMs } from '../../crds/schemas/index.ts';
import type { TableAuthorizer, TableCredentialSource, TablePublicJwk } from '../../proxy/table/table-schema.ts';
import { checkAuthorizerReferences } from './authorizer-references.ts';
import { caBundleFromSecret } from './ca-bundle.ts';
import type { ClusterIndex } from './cluster-index.ts';
import type { SecretInfo } from './compile-types.ts';
import type { RefProblem } from './conditions.ts';
import { cmp } from './resource-key.ts';

export interface CompiledAuthorizer {
  /** null: it cannot be enforced (a problem says why). */
  table: TableAuthorizer | null;
  problems: RefProblem[];
}

type Spec = Authorizer['spec'];
type TokenLocation = NonNullable<Spec['jwt']>['tokenLocation'];

/** The table id of the Authorizer `name` in `namespace` (what routes reference). */
export function authorizerId(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

export function compileAuthorizer(authorizer: Authorizer, cluster: ClusterIndex): CompiledAuthorizer {
  const problems = checkAuthorizerReferences(authorizer, cluster);
  const id = authorizerId(authorizer.metadata.namespace, authorizer.metadata.name);
  const { jwt, apiKey, external } = authorizer.spec;
  const unusable = problems.length > 0;
  if (jwt) return { table: unusable ? null : compileJwt(authorizer, jwt, id, cluster, problems), problems };
  if (apiKey) return { table: compileApiKey(authorizer, apiKey, id, cluster, problems), problems };
  if (external) return { table: unusable ? null : compileExternal(authorizer, external, id, cluster), problems };
  return { table: null, problems };
}

function compileJwt(authorizer: Authorizer, jwt: NonNullable<Spec['jwt']>, id: string, cluster: ClusterIndex, problems: RefProblem[]): TableAuthorizer | null {
  const ns = authorizer.metadata.namespace;
  let jwks: Extract<TableAuthorizer, { type: 'jwt' }>['jwks'];
  if (jwt.jwks.uri !== undefined) {
    let caPem: string | undefined;
    const caRef = jwt.jwks.caSecretRef;
    if (caRef) {
      const bundle = caBundleFromSecret(cluster, ns, caRef.name, caRef.key, 'spec.jwt.jwks.caSecretRef');
      if (!bundle.ok) {
        problems.push(bundle.problem);
        return null;
      }
      caPem = bundle.pem;
    }
    jwks = { source: 'uri', uri: jwt.jwks.uri, ...(caPem !== undefined && { caPem }), cacheMs: Math.max(1, parseDurationMs(jwt.jwks.cacheDuration)) };
  } else {
    const ref = jwt.jwks.secretRef as NonNullable<typeof jwt.jwks.secretRef>;
    const keys = publicJwks((cluster.secret(ns, ref.name) as SecretInfo).data[ref.key] as string);
    if (keys.length === 0) {
      problems.push({
        path: 'spec.jwt.jwks.secretRef.key',
        reason: 'InvalidSecret',
        message: `Secret ${ns}/${ref.name} key ${JSON.stringify(ref.key)} is not a JWKS with a usable public key (RSA, EC or OKP)`,
      });
      return null;
    }
    jwks = { source: 'inline', keys };
  }
  return {
    id,
    type: 'jwt',
    issuer: jwt.issuer,
    audiences: jwt.audiences,
    algorithms: jwt.algorithms,
    jwks,
    token: credentialSource(jwt.tokenLocation),
    clockSkewMs: parseDurationMs(jwt.clockSkew),
    consumerHeader: jwt.consumerHeader.toLowerCase(),
    claimsToHeaders: (jwt.claimsToHeaders ?? []).map((c): [string, string] => [c.claim, c.header.toLowerCase()]),
  };
}

const PUBLIC_MEMBERS = ['kid', 'use', 'alg', 'crv', 'n', 'e', 'x', 'y'] as const;

/** The usable public keys of a JWKS document; private members (d, p, q, …) and symmetric keys are dropped. */
export function publicJwks(text: string): TablePublicJwk[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return [];
  }
  const keys = (doc as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) return [];
  const out: TablePublicJwk[] = [];
  for (const key of keys as unknown[]) {
    if (typeof key !== 'object' || key === null) continue;
    const k = key as Record<string, unknown>;
    if ((k.kty !== 'RSA' && k.kty !== 'EC' && k.kty !== 'OKP') || k.use === 'enc') continue;
    const jwk: Record<string, string> = { kty: k.kty };
    for (const m of PUBLIC_MEMBERS) if (typeof k[m] === 'string') jwk[m] = k[m];
    const complete = k.kty === 'RSA' ? jwk.n !== undefined && jwk.e !== undefined : jwk.crv !== undefined && jwk.x !== undefined && (k.kty === 'OKP' || jwk.y !== undefined);
    if (complete) out.push(jwk as TablePublicJwk);
  }
  return out;
}

const KEY_ENTRY = /^key(-[A-Za-z0-9._-]+)?$/;

function compileApiKey(authorizer: Authorizer, apiKey: NonNullable<Spec['apiKey']>, id: string, cluster: ClusterIndex, problems: RefProblem[]): TableAuthorizer {
  const ns = authorizer.metadata.namespace;
  const salt = keySalt(authorizer);
  const saltBytes = Buffer.from(salt, 'hex');
  const wanted = Object.entries(apiKey.secretSelector.matchLabels);
  const secrets = cluster
    .secretsIn(ns)
    .filter((s) => wanted.every(([k, v]) => s.labels[k] === v))
    .sort((a, b) => cmp(a.name, b.name));
  const byHash = new Map<string, { consumer: string; plan: string | undefined; secret: string } | null>();
  for (const secret of secrets) {
    const consumer = secret.data.consumer?.trim();
    const keyEntries = Object.keys(secret.data)
      .filter((k) => KEY_ENTRY.test(k))
      .sort(cmp);
    if (!consumer || keyEntries.length === 0) {
      const missing = !consumer ? 'consumer' : 'key';
      problems.push({ path: 'spec.apiKey.secretSelector', reason: 'InvalidSecret', message: `Secret ${ns}/${secret.name} has no ${JSON.stringify(missing)} entry; its keys are refused` });
      continue;
    }
    const plan = secret.data.plan?.trim() || undefined;
    for (const entry of keyEntries) {
      const key = secret.data[entry] as string;
      if (key.length === 0) continue;
      const hash = createHash('sha256').update(saltBytes).update(key, 'utf8').digest('hex');
      const other = byHash.get(hash);
      if (other === undefined) byHash.set(hash, { consumer, plan, secret: secret.name });
      else {
        // One key naming two consumers is ambiguous: both are refused rather than guessed.
        if (other !== null) {
          problems.push({
            path: 'spec.apiKey.secretSelector',
            reason: 'InvalidSecret',
            message: `Secrets ${ns}/${other.secret} and ${ns}/${secret.name} hold the same key (entry ${JSON.stringify(entry)}); it is refused`,
          });
        }
        byHash.set(hash, null);
      }
    }
  }
  const keys = [...byHash.entries()]
    .flatMap(([hash, v]) => (v === null ? [] : [{ hash, consumer: v.consumer, ...(v.plan !== undefined && { plan: v.plan }) }]))
    .sort((a, b) => cmp(a.hash, b.hash));
  return { id, type: 'apiKey', key: credentialSource(apiKey.location), consumerHeader: apiKey.consumerHeader.toLowerCase(), salt, keys };
}

/**
 * Deterministic, so every controller replica compiles the same table (same version), and per Authorizer (its uid when
 * the API server gave it one): a precomputed table of hashes is good for one Authorizer only. The hash keeps raw keys
 * out of the table, its file and /debug; it is not a password hash, so keys must be long random strings.
 */
function keySalt(authorizer: Authorizer): string {
  const { namespace, name, uid } = authorizer.metadata;
  return createHash('sha256').update(`gatehouse.dev/api-key-salt\0${uid ?? ''}\0${namespace}/${name}`).digest('hex').slice(0, 32);
}

function compileExternal(authorizer: Authorizer, external: NonNullable<Spec['external']>, id: string, cluster: ClusterIndex): TableAuthorizer {
  const ns = authorizer.metadata.namespace;
  let url = external.url as string;
  if (external.service) {
    const ref = external.service;
    const port = typeof ref.port === 'number' ? ref.port : (cluster.service(ns, ref.name)?.ports.find((p) => p.name === ref.port)?.port as number);
    // Cluster DNS: the Service's own load balancing, and no endpoint list to keep in the table for it.
    url = `http://${ref.name}.${ns}.svc:${port}${ref.path}`;
  }
  return {
    id,
    type: 'external',
    url,
    identitySources: external.identitySources.map(identitySource),
    contextHeaders: [...new Set((external.contextHeaders ?? []).map((h) => h.toLowerCase()))].sort(cmp),
    consumerHeader: external.consumerHeader.toLowerCase(),
    resultTtlMs: parseDurationMs(external.resultTtl),
    timeoutMs: parseDurationMs(external.timeout),
    failureMode: external.failureMode === 'Allow' ? 'allow' : 'deny',
  };
}

function credentialSource(location: TokenLocation): TableCredentialSource {
  if (location.header !== undefined) return { from: 'header', name: location.header.toLowerCase(), prefix: location.prefix ?? '' };
  if (location.query !== undefined) return { from: 'query', name: location.query };
  return { from: 'cookie', name: location.cookie as string };
}

/** "header:X-Token", "query:token", "cookie:session", or a bare header name. */
function identitySource(text: string): TableCredentialSource {
  const colon = text.indexOf(':');
  const kind = colon < 0 ? 'header' : text.slice(0, colon);
  const name = colon < 0 ? text : text.slice(colon + 1);
  if (kind === 'query') return { from: 'query', name };
  if (kind === 'cookie') return { from: 'cookie', name };
  return { from: 'header', name: name.toLowerCase(), prefix: '' };
}
