// API keys: the table holds sha256(salt ‖ key) per key, never a key; the proxy hashes what it receives and looks the
// hash up in a map, so a check costs one hash and one lookup whatever the number of keys, and answers synchronously.
// A key that leaves the table (its Secret or entry deleted) is refused from the next table on.
import { createHash } from 'node:crypto';
import type { TableApiKeyAuthorizer } from '../../table/table-schema.ts';
import { readCredential } from '../credential-source.ts';
import type { AuthMetrics, AuthResult, Authenticator, Consumer, PolicyContext } from '../policy-types.ts';

type Refusal = Extract<AuthResult, { ok: false }>;

const MISSING: Refusal = { ok: false, denial: { status: 401, error: 'missing credentials', reason: 'missing' } };
const INVALID: Refusal = { ok: false, denial: { status: 401, error: 'invalid credentials', reason: 'invalid' } };
/** Longer than any key worth hashing: a megabyte "key" is refused without spending the hash on it. */
const MAX_KEY_LENGTH = 4096;

export function createApiKeyAuthenticator(config: TableApiKeyAuthorizer, metrics: AuthMetrics): Authenticator {
  const salt = Buffer.from(config.salt, 'hex');
  // Each consumer once (several keys may name it), with its upstream header made up front.
  const consumers = new Map<string, { consumer: Consumer; headers: Array<[string, string]> }>();
  const byHash = new Map<string, { consumer: Consumer; headers: Array<[string, string]> }>();
  for (const key of config.keys) {
    const id = `${key.consumer}\0${key.plan ?? ''}`;
    let entry = consumers.get(id);
    if (entry === undefined) {
      const consumer: Consumer = { name: key.consumer, authorizer: config.id, plan: key.plan, claims: {} };
      consumers.set(id, (entry = { consumer, headers: [[config.consumerHeader, key.consumer]] }));
    }
    byHash.set(key.hash, entry);
  }
  const source = config.key;
  return {
    id: config.id,
    ownedHeaders: [config.consumerHeader],
    authenticate(ctx: PolicyContext): AuthResult {
      const key = readCredential(source, ctx.req.headers, ctx.query);
      if (key === null) return deny(metrics, config.id, MISSING);
      if (key.length > MAX_KEY_LENGTH) return deny(metrics, config.id, INVALID);
      const found = byHash.get(createHash('sha256').update(salt).update(key, 'utf8').digest('hex'));
      if (found === undefined) return deny(metrics, config.id, INVALID);
      metrics.decision(config.id, 'allow', 'ok');
      // A fresh array: later steps may add headers to the request's list.
      return { ok: true, consumer: found.consumer, headers: [...found.headers] };
    },
    close() {},
  };
}

function deny(metrics: AuthMetrics, id: string, result: Refusal): AuthResult {
  metrics.decision(id, 'deny', result.denial.reason);
  return result;
}
