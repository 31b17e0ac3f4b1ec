// The Programmed condition of each resource: how many proxies — on every controller replica, see fleet-merge.ts —
// serve its current generation. A resource's generation is first compiled into some table (a compile sequence number); a proxy serves
// it once the version it serves comes from that compile or a later one. A proxy that rejected a table at or after
// that point, and serves nothing newer, makes the condition False with its error. Versions are content hashes, so a
// version a proxy on another replica reports means the same table here; one this replica has not compiled (yet, or
// ever: replicas whose inputs differ) cannot be placed in the sequence, so that proxy counts as not serving until
// this replica compiles the same version (which refreshes the conditions).
import type { Condition } from '../../crds/schemas/index.ts';
import type { ResourceStatus } from '../compile/compile-types.ts';
import { resourceKey } from '../compile/resource-key.ts';

/** What a condition needs of one proxy, wherever it is connected. */
export interface ServingProxy {
  name: string;
  version: string | null;
  lastError: { version: string; error: string } | null;
}

/** Versions remembered for the sequence lookup; a proxy on an older version counts as not serving. */
const KEPT_VERSIONS = 256;
const MAX_ERROR_CHARS = 300;

export class ProgrammedConditions {
  /** Resource key → its generation and the compile that first carried it. */
  readonly #since = new Map<string, { generation: number | undefined; sequence: number }>();
  /** Table version → the latest compile that produced it. */
  readonly #sequenceOf = new Map<string, number>();
  /** Resource key → the Programmed condition last handed out for it (status|reason|message). */
  readonly #shown = new Map<string, string>();

  noteCompile(statuses: readonly ResourceStatus[], version: string, sequence: number): void {
    const seen = new Set<string>();
    for (const s of statuses) {
      const key = resourceKey(s);
      seen.add(key);
      const before = this.#since.get(key);
      if (before === undefined || before.generation !== s.generation) this.#since.set(key, { generation: s.generation, sequence });
    }
    for (const key of this.#since.keys()) {
      if (seen.has(key)) continue;
      this.#since.delete(key);
      this.#shown.delete(key);
    }
    this.#sequenceOf.delete(version);
    this.#sequenceOf.set(version, sequence);
    while (this.#sequenceOf.size > KEPT_VERSIONS) this.#sequenceOf.delete(this.#sequenceOf.keys().next().value as string);
  }

  /** The statuses with a Programmed condition added (conditions stay sorted by type). */
  withProgrammed(statuses: readonly ResourceStatus[], proxies: readonly ServingProxy[]): ResourceStatus[] {
    const fleet = this.#prepare(proxies);
    return statuses.map((s) => {
      const condition = this.#conditionOf(s, fleet);
      this.#shown.set(resourceKey(s), signature(condition));
      return withCondition(s, condition);
    });
  }

  /**
   * Only the statuses whose Programmed condition differs from the one last handed out for that resource, with it
   * added. A fleet change (a proxy ACKs, connects, leaves) usually moves the condition of the few resources that
   * changed, so the status writer is handed those, not all 10k (planning 10k patches was ~65 MB of garbage per ACK).
   */
  changedProgrammed(statuses: readonly ResourceStatus[], proxies: readonly ServingProxy[]): ResourceStatus[] {
    const fleet = this.#prepare(proxies);
    const out: ResourceStatus[] = [];
    for (const s of statuses) {
      const condition = this.#conditionOf(s, fleet);
      const key = resourceKey(s);
      const text = signature(condition);
      if (this.#shown.get(key) === text) continue;
      this.#shown.set(key, text);
      out.push(withCondition(s, condition));
    }
    return out;
  }

  #prepare(proxies: readonly ServingProxy[]): PreparedFleet {
    return {
      serving: proxies.map((p) => ({ p, sequence: p.version === null ? -1 : (this.#sequenceOf.get(p.version) ?? -1) })),
      rejected: proxies.map((p) => ({ p, sequence: p.lastError === null ? -1 : (this.#sequenceOf.get(p.lastError.version) ?? -1) })),
    };
  }

  #conditionOf(s: ResourceStatus, fleet: PreparedFleet): Condition {
    const since = this.#since.get(resourceKey(s))?.sequence ?? Number.MAX_SAFE_INTEGER;
    return programmed(s, since, fleet.serving, fleet.rejected);
  }
}

interface PreparedFleet {
  serving: ReadonlyArray<{ p: ServingProxy; sequence: number }>;
  rejected: ReadonlyArray<{ p: ServingProxy; sequence: number }>;
}

function signature(c: Condition): string {
  return `${c.status}|${c.reason}|${c.message}`;
}

function withCondition(s: ResourceStatus, condition: Condition): ResourceStatus {
  const conditions = [...s.conditions.filter((c) => c.type !== 'Programmed'), condition].sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : 0));
  return { ...s, conditions };
}

function programmed(
  s: ResourceStatus,
  since: number,
  serving: ReadonlyArray<{ p: ServingProxy; sequence: number }>,
  rejected: ReadonlyArray<{ p: ServingProxy; sequence: number }>,
): Condition {
  const generation = s.generation === undefined ? 'the current spec' : `generation ${s.generation}`;
  const accepted = s.conditions.find((c) => c.type === 'Accepted');
  if (accepted?.status === 'False') return { type: 'Programmed', status: 'False', reason: 'Invalid', message: `${generation} is not served: it was not accepted` };
  const total = serving.length;
  if (total === 0) return { type: 'Programmed', status: 'False', reason: 'NoProxies', message: 'no proxies are connected to any controller replica' };
  const count = serving.filter((x) => x.sequence >= since).length;
  const failing = rejected.find((x, i) => x.sequence >= since && (serving[i]?.sequence ?? -1) < x.sequence);
  const summary = `${count}/${total} proxies serve ${generation}`;
  if (failing !== undefined && failing.p.lastError !== null) {
    const error = failing.p.lastError.error.slice(0, MAX_ERROR_CHARS);
    return { type: 'Programmed', status: 'False', reason: 'Rejected', message: `${summary}; proxy ${failing.p.name} rejected table ${failing.p.lastError.version}: ${error}` };
  }
  if (count === total) return { type: 'Programmed', status: 'True', reason: 'Programmed', message: summary };
  return { type: 'Programmed', status: 'False', reason: 'Pending', message: summary };
}
