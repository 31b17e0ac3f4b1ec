// Writes compile statuses to the API server: a JSON merge patch on the status subresource, and only when
// the live status says something else. Bounded concurrency; conflicts re-read the object and re-plan.
import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { CRD_KINDS } from '../../crds/crd-kinds.ts';
import { GROUP, VERSION } from '../../crds/schemas/index.ts';
import type { ResourceStatus } from '../compile/compile-types.ts';
import type { EventRecorder } from './event-recorder.ts';
import { describeApiError, httpStatusOf, isRetryable } from './kube-errors.ts';
import { COMPILER_CONDITION_TYPES, planStatus } from './status-diff.ts';
import { resourceKey } from './status-report.ts';

/**
 * What the caller (an informer cache) knows about the object. With resourceVersion the patch is conditional
 * (a stale cache costs one 409 and a re-read instead of overwriting someone else's condition); uid goes into Events.
 */
export interface LiveObject {
  generation?: number;
  status?: unknown;
  uid?: string;
  resourceVersion?: string;
}

export interface StatusWriterOptions {
  kubeConfig: KubeConfig;
  logger: Logger;
  fieldManager?: string;
  /** Patches in flight at once. */
  concurrency?: number;
  /** Tries per resource for retryable failures (409, 429, 5xx, network). */
  maxAttempts?: number;
  /** Condition types this writer replaces; anything else on the live object is preserved. */
  ownedConditionTypes?: readonly string[];
  /** Emits a Warning event when a resource becomes rejected. */
  events?: EventRecorder;
  clock?: () => Date;
  /** First retry delay; doubles per attempt. */
  backoffMs?: number;
  /** Each patch that landed, with the resourceVersion it produced (the watch event it causes carries the same). */
  onPatched?: (key: string, resourceVersion: string | undefined) => void;
}

export interface WriteResult {
  /** Keys ("Kind/ns/name") whose status was patched. */
  patched: string[];
  unchanged: number;
  /** Deleted before we could write (404). */
  gone: string[];
  /** Gave up; logged with the reason. */
  failed: string[];
}

/** API calls made, for tests and metrics. */
export interface StatusWriterCounters {
  reads: number;
  patches: number;
  conflicts: number;
}

type Outcome = 'patched' | 'unchanged' | 'gone' | 'failed';

const PLURALS = new Map(CRD_KINDS.map((k) => [k.kind, k.plural]));

export class StatusWriter {
  readonly counters: StatusWriterCounters = { reads: 0, patches: 0, conflicts: 0 };
  private readonly api: CustomObjectsApi;
  private readonly logger: Logger;
  private readonly fieldManager: string;
  private readonly concurrency: number;
  private readonly maxAttempts: number;
  private readonly owned: readonly string[];
  private readonly events: EventRecorder | undefined;
  private readonly clock: () => Date;
  private readonly backoffMs: number;
  private readonly onPatched: ((key: string, resourceVersion: string | undefined) => void) | undefined;

  constructor(options: StatusWriterOptions) {
    this.api = options.kubeConfig.makeApiClient(CustomObjectsApi);
    this.logger = options.logger;
    this.fieldManager = options.fieldManager ?? 'gatehouse-controller';
    this.concurrency = Math.max(1, options.concurrency ?? 8);
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 5);
    this.owned = options.ownedConditionTypes ?? COMPILER_CONDITION_TYPES;
    this.events = options.events;
    this.clock = options.clock ?? (() => new Date());
    this.backoffMs = options.backoffMs ?? 200;
    this.onPatched = options.onPatched;
  }

  /** Brings every resource's status in line with `statuses`; never throws for one resource's failure. */
  async write(statuses: ResourceStatus[], live: Map<string, LiveObject>): Promise<WriteResult> {
    const result: WriteResult = { patched: [], unchanged: 0, gone: [], failed: [] };
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < statuses.length) {
        const status = statuses[next++]!;
        const key = resourceKey(status);
        const outcome = await this.writeOne(status, live.get(key));
        if (outcome === 'unchanged') result.unchanged++;
        else result[outcome].push(key);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, statuses.length) }, worker));
    for (const list of [result.patched, result.gone, result.failed]) list.sort();
    return result;
  }

  private async writeOne(status: ResourceStatus, known: LiveObject | undefined): Promise<Outcome> {
    const key = resourceKey(status);
    const plural = PLURALS.get(status.kind);
    if (plural === undefined) throw new Error(`no CRD for kind ${status.kind}`);
    const target = { group: GROUP, version: VERSION, namespace: status.namespace, plural, name: status.name };
    let live: LiveObject | null | undefined = known;
    for (let attempt = 1; ; attempt++) {
      try {
        // Not in the caller's cache (not seen yet, or a conflict showed the cache is stale): ask the server.
        live ??= await this.read(target);
        if (live === null) return 'gone';
        const observed = readObservedGeneration(live.status);
        if (status.generation !== undefined && observed !== undefined && observed > status.generation) {
          return 'unchanged'; // a newer compile already wrote this resource; never move backwards
        }
        const plan = planStatus(status, live, this.clock(), this.owned);
        if (!plan.changed) return 'unchanged';
        // With a resourceVersion the patch is conditional, so unowned conditions we copied cannot be lost to a race.
        const metadata = live.resourceVersion ? { metadata: { resourceVersion: live.resourceVersion } } : {};
        this.counters.patches++;
        const updated: unknown = await this.api.patchNamespacedCustomObjectStatus(
          { ...target, body: { ...metadata, status: plan.desired }, fieldManager: this.fieldManager },
          // client-node picks a JSON Patch content type by default; CRDs need a merge patch here.
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        );
        this.logger.debug({ resource: key }, 'status written');
        const meta = readMeta(updated);
        this.onPatched?.(key, meta.resourceVersion);
        if (this.events && plan.rejections.length > 0) {
          await this.events.recordRejections({ kind: status.kind, namespace: status.namespace, name: status.name, ...meta }, plan.rejections);
        }
        return 'patched';
      } catch (err) {
        const code = httpStatusOf(err);
        if (code === 404) return 'gone';
        if (code === 409) this.counters.conflicts++;
        if (!isRetryable(err) || attempt >= this.maxAttempts) {
          this.logger.warn({ resource: key, attempts: attempt, err: describeApiError(err) }, 'status write failed');
          return 'failed';
        }
        if (code === 409) live = undefined; // someone else wrote: re-read and re-plan against what is there now
        else await sleep(this.backoffMs * 2 ** (attempt - 1) * (0.75 + Math.random() / 2));
      }
    }
  }

  private async read(target: { group: string; version: string; namespace: string; plural: string; name: string }): Promise<LiveObject | null> {
    this.counters.reads++;
    try {
      const obj: unknown = await this.api.getNamespacedCustomObject(target);
      const meta = readMeta(obj);
      const status = typeof obj === 'object' && obj !== null && 'status' in obj ? obj.status : undefined;
      return { ...meta, status };
    } catch (err) {
      if (httpStatusOf(err) === 404) return null;
      throw err;
    }
  }
}

function readMeta(obj: unknown): { generation?: number; uid?: string; resourceVersion?: string } {
  const metadata = typeof obj === 'object' && obj !== null && 'metadata' in obj ? obj.metadata : undefined;
  if (typeof metadata !== 'object' || metadata === null) return {};
  const out: { generation?: number; uid?: string; resourceVersion?: string } = {};
  if ('generation' in metadata && typeof metadata.generation === 'number') out.generation = metadata.generation;
  if ('uid' in metadata && typeof metadata.uid === 'string') out.uid = metadata.uid;
  if ('resourceVersion' in metadata && typeof metadata.resourceVersion === 'string') out.resourceVersion = metadata.resourceVersion;
  return out;
}

function readObservedGeneration(status: unknown): number | undefined {
  if (typeof status !== 'object' || status === null || !('observedGeneration' in status)) return undefined;
  return typeof status.observedGeneration === 'number' ? status.observedGeneration : undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
