// A RatePolicy becomes the table's form of its limits: periods in ms, a token bucket's burst filled in (its rate when
// unset), names and enums as the proxy reads them. It needs nothing from the cluster, so the same object always
// compiles to the same (identical) result: the incremental compile tells a changed policy by identity.
import type { RatePolicy } from '../../crds/schemas/index.ts';
import { parseDurationMs } from '../../crds/schemas/index.ts';
import type { QuotaPeriod, TableLimit, TableLimitKeyPart, TableRatePolicy } from '../../proxy/table/table-schema.ts';

type Limit = NonNullable<RatePolicy['spec']['limits']>[number];

/** The table id of the RatePolicy `name` in `namespace` (what routes reference). */
export function ratePolicyId(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

const compiled = new WeakMap<RatePolicy, TableRatePolicy>();

export function compileRatePolicy(policy: RatePolicy): TableRatePolicy {
  let table = compiled.get(policy);
  if (table === undefined) compiled.set(policy, (table = compileFresh(policy)));
  return table;
}

const HEADERS = { Always: 'always', WhenLimited: 'limited', Never: 'never' } as const;

function compileFresh(policy: RatePolicy): TableRatePolicy {
  const { spec, metadata } = policy;
  return {
    id: ratePolicyId(metadata.namespace, metadata.name),
    limits: (spec.limits ?? []).map(compileLimit),
    plans: (spec.plans ?? []).map((p) => ({ name: p.name, limits: p.limits.map(compileLimit) })),
    ...(spec.defaultPlan !== undefined && { defaultPlan: spec.defaultPlan }),
    headers: HEADERS[spec.responseHeaders],
  };
}

function compileLimit(limit: Limit): TableLimit {
  const rule: TableLimit['rule'] = limit.tokenBucket
    ? { kind: 'tokenBucket', rate: limit.tokenBucket.rate, periodMs: parseDurationMs(limit.tokenBucket.period), burst: limit.tokenBucket.burst ?? limit.tokenBucket.rate }
    : (() => {
        const q = limit.quota as NonNullable<Limit['quota']>;
        return { kind: 'quota', limit: q.limit, period: q.period.toLowerCase() as QuotaPeriod, timeZone: q.timeZone };
      })();
  return {
    name: limit.name,
    key: limit.key.map(keyPart),
    scope: limit.scope === 'Global' ? 'global' : 'local',
    failureMode: limit.failureMode === 'Closed' ? 'closed' : 'open',
    rule,
  };
}

function keyPart(part: Limit['key'][number]): TableLimitKeyPart {
  switch (part.type) {
    case 'ClientIP':
      return { type: 'clientIp' };
    case 'Header':
      return { type: 'header', name: (part.name as string).toLowerCase() };
    case 'JWTClaim':
      return { type: 'claim', name: part.name as string };
    case 'Consumer':
      return { type: 'consumer' };
    case 'Route':
      return { type: 'route' };
  }
}
