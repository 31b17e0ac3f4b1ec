// The production source: informers on the gateway's kinds and on the Services, EndpointSlices and (label-selected)
// Secrets they reference, in all namespaces or a configured list. Once every informer has listed once, each burst
// of changes becomes one CompileInput snapshot built from the informer caches.
import { makeInformer, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { CompileCache } from '../compile/compile-cache.ts';
import type { CompileInput, RawResource, ResourceKind } from '../compile/compile-types.ts';
import { resourceKey } from '../compile/resource-key.ts';
import { BurstCoalescer } from './burst-coalescer.ts';
import { InformerSupervisor } from './informer-supervisor.ts';
import { isGatewayKind, toEndpointSliceInfo, toRawResource, toSecretInfo, toServiceInfo, type Conversion } from './kube-object-converters.ts';
import { slimObject } from './kube-slim-object.ts';
import { WATCHED_KINDS, watchTarget, type WatchedKind } from './kube-watched-kinds.ts';

export const DEFAULT_SECRET_SELECTOR = 'gatehouse.dev/secret';

export interface KubeSourceOptions {
  kubeConfig: KubeConfig;
  /** undefined or empty: all namespaces (one informer per kind); else one informer per namespace per kind. */
  namespaces?: readonly string[];
  /** Only Secrets matching this label selector are watched. */
  secretSelector?: string;
  logger: Logger;
  /** Called with each coalesced snapshot; runs never overlap. */
  onSnapshot: (snapshot: KubeSnapshot) => void | Promise<void>;
  quietMs?: number;
  maxDelayMs?: number;
  onInformerRestart?: (kind: WatchedKind) => void;
  /** Every object change an informer delivers, before anything else is done with it (for metrics). */
  onWatchEvent?: (kind: WatchedKind, event: 'add' | 'update' | 'delete') => void;
  /**
   * A gateway resource changed without a new generation (its status, labels or annotations: nothing the compiler
   * reads), so no compile is needed; the leader may want to re-check its status. Key: "Kind/ns/name".
   */
  onLiveChange?: (key: string) => void;
}

export interface KubeSnapshot {
  input: CompileInput;
  /** "Kind/ns/name" → what the API server has now (for the status writer's change detection). */
  live: Map<string, LiveState>;
  /** Objects the compiler cannot read at all (e.g. an EndpointSlice without its service-name label). */
  problems: string[];
  /** When the oldest change folded into this snapshot was seen (ms since epoch). */
  firstChangeAt: number;
}

export interface LiveState {
  generation?: number;
  status?: unknown;
  uid?: string;
  resourceVersion?: string;
}

interface Watched {
  kind: WatchedKind;
  supervisor: InformerSupervisor<KubernetesObject>;
}

export class KubeSource {
  readonly #opts: KubeSourceOptions;
  readonly #log: Logger;
  readonly #watched: Watched[] = [];
  readonly #coalescer: BurstCoalescer;
  #allSynced = false;
  #firstChangeAt = 0;
  /** metadata.generation last seen per gateway resource, to tell spec changes from status-only ones. */
  readonly #generations = new Map<string, number | undefined>();
  /** Conversions per cached object: unchanged objects convert to the same (identical) value, which the compile cache relies on. */
  readonly #converted = new WeakMap<KubernetesObject, Conversion<unknown>>();
  /**
   * The conversion per gateway resource and the generation it was made from. A status write replaces the cached
   * object without changing its spec; reusing the conversion keeps the compiler's input identical, so the next
   * compile does not redo every resource whose status the leader just wrote (at 10k routes that was a full
   * recompile, the p99 of every propagation run).
   */
  readonly #bySpec = new Map<string, { uid: string | undefined; generation: number; result: Conversion<RawResource> }>();
  readonly #compileCache = new CompileCache();
  /**
   * Each gateway object's key and LiveState, made once per cached object: a snapshot is taken on every change and
   * at 10k resources building them again each time was ~2 MB of garbage per compile.
   */
  readonly #live = new WeakMap<KubernetesObject, { key: string; state: LiveState }>();

  constructor(opts: KubeSourceOptions) {
    this.#opts = opts;
    this.#log = opts.logger.child({ component: 'kube-source' });
    this.#coalescer = new BurstCoalescer({
      quietMs: opts.quietMs ?? 50,
      maxDelayMs: opts.maxDelayMs ?? 250,
      run: () => this.#emit(),
      onError: (err) => this.#log.error({ err }, 'snapshot handler failed'),
    });
    const namespaces = opts.namespaces && opts.namespaces.length > 0 ? [...new Set(opts.namespaces)] : [undefined];
    const selector = opts.secretSelector ?? DEFAULT_SECRET_SELECTOR;
    for (const kind of WATCHED_KINDS) {
      for (const namespace of namespaces) {
        const target = watchTarget(opts.kubeConfig, kind, namespace, selector);
        const supervisor = new InformerSupervisor<KubernetesObject>({
          name: `${kind} (${namespace ?? 'all namespaces'})`,
          create: (list) => makeInformer(opts.kubeConfig, target.path, list, target.labelSelector),
          list: target.list,
          onChange: (verb, obj) => {
            opts.onWatchEvent?.(kind, verb);
            this.#changed(kind, verb, obj);
          },
          onRestart: () => opts.onInformerRestart?.(kind),
          logger: this.#log,
        });
        this.#watched.push({ kind, supervisor });
      }
    }
  }

  /** Starts every informer; the first snapshot follows once all have synced. */
  start(): void {
    for (const w of this.#watched) w.supervisor.start();
    void Promise.all(this.#watched.map((w) => w.supervisor.whenSynced())).then(() => {
      this.#allSynced = true;
      this.#log.info({ informers: this.#watched.length }, 'all informers synced');
      this.#changed(undefined, 'add', undefined);
    });
  }

  /** Every informer has listed at least once. */
  get synced(): boolean {
    return this.#allSynced;
  }

  informerStates(): { name: string; synced: boolean; restarts: number }[] {
    return this.#watched.map((w) => ({ name: w.supervisor.name, synced: w.supervisor.synced, restarts: w.supervisor.restarts }));
  }

  async stop(): Promise<void> {
    this.#coalescer.close();
    await Promise.all(this.#watched.map((w) => w.supervisor.stop()));
  }

  #changed(kind: WatchedKind | undefined, verb: 'add' | 'update' | 'delete', obj: KubernetesObject | undefined): void {
    if (obj && kind && isGatewayKind(kind)) {
      const key = resourceKey({ kind, namespace: obj.metadata?.namespace ?? '', name: obj.metadata?.name ?? '' });
      const generation = obj.metadata?.generation;
      if (verb === 'delete') {
        this.#generations.delete(key);
        this.#bySpec.delete(key);
      } else if (verb === 'update' && generation !== undefined && this.#generations.get(key) === generation) {
        slimObject(obj);
        this.#shareSpec(key, obj);
        if (this.#allSynced) this.#opts.onLiveChange?.(key);
        return;
      } else this.#generations.set(key, generation);
    }
    if (obj && verb !== 'delete') slimObject(obj);
    if (this.#firstChangeAt === 0) this.#firstChangeAt = Date.now();
    if (this.#allSynced) this.#coalescer.poke();
  }

  async #emit(): Promise<void> {
    const firstChangeAt = this.#firstChangeAt;
    this.#firstChangeAt = 0;
    await this.#opts.onSnapshot({ ...this.snapshot(), firstChangeAt });
  }

  /** What the API server has now for these gateway resources ("Kind/ns/name"). */
  liveStates(keys: Iterable<string>): Map<string, LiveState> {
    const out = new Map<string, LiveState>();
    for (const key of keys) {
      const [kind, namespace, name] = key.split('/') as [WatchedKind, string, string];
      for (const w of this.#watched) {
        if (w.kind !== kind) continue;
        const obj = w.supervisor.get(namespace, name);
        if (obj && isGatewayKind(w.kind)) out.set(key, this.#known(obj, w.kind, namespace, name).state);
      }
    }
    return out;
  }

  /** The caches as compiler input, now. */
  snapshot(): Omit<KubeSnapshot, 'firstChangeAt'> {
    const input: Required<Omit<CompileInput, 'lastAccepted' | 'cache' | 'jwksHealth' | 'defaultTlsSecret' | 'now' | 'files'>> = { resources: [], services: [], endpointSlices: [], secrets: [] };
    const live: KubeSnapshot['live'] = new Map();
    const problems: string[] = [];
    const take = <T>(obj: KubernetesObject, convert: () => Conversion<T>, into: T[], namespace: string | undefined): void => {
      let result = this.#converted.get(obj) as Conversion<T> | undefined;
      if (result === undefined) {
        result = convert();
        this.#converted.set(obj, result);
      }
      if (result.ok) into.push(result.value);
      else problems.push(`${namespace ?? ''}: ${result.message}`);
    };
    for (const { kind, supervisor } of this.#watched) {
      for (const obj of supervisor.list()) {
        const namespace = obj.metadata?.namespace;
        const name = obj.metadata?.name;
        if (namespace === undefined || name === undefined) continue;
        if (isGatewayKind(kind)) {
          const { key, state } = this.#known(obj, kind, namespace, name);
          take(obj, () => this.#convertGateway(key, obj, () => toRawResource(kind, obj as unknown as Record<string, unknown>, name, namespace)), input.resources, namespace);
          live.set(key, state);
        } else if (kind === 'Service') take(obj, () => toServiceInfo(obj, namespace), input.services, namespace);
        else if (kind === 'EndpointSlice') take(obj, () => toEndpointSliceInfo(obj, namespace), input.endpointSlices, namespace);
        else take(obj, () => toSecretInfo(obj, namespace), input.secrets, namespace);
      }
    }
    return { input: { ...input, cache: this.#compileCache }, live, problems };
  }

  /** The object's key and LiveState, made once per cached object. */
  #known(obj: KubernetesObject, kind: ResourceKind, namespace: string, name: string): { key: string; state: LiveState } {
    let known = this.#live.get(obj);
    if (known === undefined) this.#live.set(obj, (known = { key: resourceKey({ kind, namespace, name }), state: liveState(obj) }));
    return known;
  }

  /** Same uid and generation means the same spec: reuse the conversion made from it. */
  #convertGateway(key: string, obj: KubernetesObject, convert: () => Conversion<RawResource>): Conversion<RawResource> {
    const { uid, generation } = obj.metadata ?? {};
    const memo = this.#bySpec.get(key);
    if (memo !== undefined && generation !== undefined && memo.generation === generation && memo.uid === uid) return memo.result;
    const result = convert();
    if (generation === undefined) this.#bySpec.delete(key);
    else this.#bySpec.set(key, { uid, generation, result });
    return result;
  }

  /**
   * A status-only update: let the new cached object share the spec the memoised conversion holds, so it is kept once.
   * Only when the memo was made from this generation: a status write landing after a spec change, before any snapshot
   * converted that change, carries the new spec, which the older memo would replace (the change was lost, and
   * Programmed still counted its generation as served).
   */
  #shareSpec(key: string, obj: KubernetesObject): void {
    const memo = this.#bySpec.get(key);
    if (memo === undefined || !memo.result.ok || memo.uid !== obj.metadata?.uid || memo.generation !== obj.metadata?.generation) return;
    const spec = (memo.result.value.object as { spec?: unknown }).spec;
    if (spec !== undefined) (obj as { spec?: unknown }).spec = spec;
  }
}

function liveState(obj: KubernetesObject): LiveState {
  const { generation, uid, resourceVersion } = obj.metadata ?? {};
  return {
    ...(generation !== undefined && { generation }),
    ...(uid !== undefined && { uid }),
    ...(resourceVersion !== undefined && { resourceVersion }),
    status: (obj as { status?: unknown }).status,
  };
}
