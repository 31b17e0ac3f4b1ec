// The fleets the other controller replicas publish (one ConfigMap each, see fleet-publisher.ts), watched through a
// label-selected informer. A replica's report counts while it is fresh: it changed (a heartbeat) within
// `staleAfterMs`, measured by this process's own clock from when it saw the change — remote timestamps are never
// compared with the local clock, so clock skew cannot make a live replica look dead or a dead one alive (the Lease
// elector works the same way). A replica killed with -9 stops heartbeating, and its proxies drop out once the window
// has passed. The leader also deletes objects that stay stale for `collectAfterMs` (replicas that died for good).
import { CoreV1Api, makeInformer, type KubeConfig, type KubernetesListObject, type V1ConfigMap } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { InformerSupervisor } from '../sources/informer-supervisor.ts';
import { describeApiError, httpStatusOf } from '../status/kube-errors.ts';
import { decodeFleetReport, FLEET_LABEL, fleetLabelValue, type FleetReport, type ReplicaProxy } from './fleet-report.ts';

/** What the roster reports to the controller's metrics. */
export interface FleetRosterMetrics {
  /** The other replicas' readable reports by freshness, and the proxies the fresh ones list; after every change. */
  roster(counts: { fresh: number; stale: number; proxies: number }): void;
  /** This replica, as leader, deleted the report of a replica stale past the collect window. */
  collected(): void;
}

export interface FleetRosterOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  group: string;
  /** This replica's own object name: ignored (its local fleet is fresher than what it published). */
  ownObject: string;
  staleAfterMs: number;
  /** Stale this long → the leader deletes the object; default 10 × staleAfterMs. */
  collectAfterMs?: number;
  isLeader: () => boolean;
  /** The proxies counted from other replicas changed (a report's proxies changed, it went stale, came back, or left). */
  onChange: () => void;
  logger: Logger;
  metrics?: FleetRosterMetrics;
}

interface Entry {
  object: string;
  resourceVersion: string;
  report: FleetReport;
  /** The proxies as JSON without the heartbeat: a heartbeat alone is not a change. */
  proxiesKey: string;
  /** performance.now() when this process last saw the object change. */
  seenAt: number;
  fresh: boolean;
}

export class FleetRoster {
  readonly #opts: FleetRosterOptions;
  readonly #log: Logger;
  readonly #api: CoreV1Api;
  readonly #informer: InformerSupervisor<V1ConfigMap>;
  readonly #entries = new Map<string, Entry>();
  /** Objects whose report was unusable, by resourceVersion, so each bad version is logged once. */
  readonly #rejected = new Map<string, string>();
  #timer: NodeJS.Timeout | undefined;

  constructor(opts: FleetRosterOptions) {
    this.#opts = opts;
    this.#log = opts.logger.child({ component: 'fleet-roster' });
    this.#api = opts.kubeConfig.makeApiClient(CoreV1Api);
    const { namespace } = opts;
    const labelSelector = `${FLEET_LABEL}=${fleetLabelValue(opts.group)}`;
    const list = (): Promise<KubernetesListObject<V1ConfigMap>> => this.#api.listNamespacedConfigMap({ namespace, labelSelector });
    this.#informer = new InformerSupervisor<V1ConfigMap>({
      name: `fleet ConfigMaps (${namespace})`,
      create: (wrapped) => makeInformer(opts.kubeConfig, `/api/v1/namespaces/${encodeURIComponent(namespace)}/configmaps`, wrapped, labelSelector),
      list,
      onChange: (verb, obj) => this.#changed(verb, obj),
      logger: this.#log,
    });
  }

  start(): void {
    this.#report();
    this.#informer.start();
    // Often enough that a dead replica drops out within ~⅓ window after it went stale.
    this.#timer = setInterval(() => this.#sweep(), Math.max(100, Math.min(1_000, Math.round(this.#opts.staleAfterMs / 3))));
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#informer.stop();
  }

  /** The proxies the other, fresh replicas report. */
  proxies(): ReplicaProxy[] {
    const out: ReplicaProxy[] = [];
    for (const e of this.#entries.values()) if (e.fresh) for (const p of e.report.proxies) out.push({ ...p, replica: e.report.replica });
    return out;
  }

  /** Every other replica's report as seen here (for /debug/fleet). */
  replicas(): Array<{ replica: string; object: string; heartbeatAt: string; fresh: boolean; proxies: number }> {
    return [...this.#entries.values()]
      .map((e) => ({ replica: e.report.replica, object: e.object, heartbeatAt: new Date(e.report.heartbeatAt).toISOString(), fresh: e.fresh, proxies: e.report.proxies.length }))
      .sort((a, b) => (a.replica < b.replica ? -1 : a.replica > b.replica ? 1 : 0));
  }

  /** Every path through #apply can add, replace or drop an entry, so the counts are re-reported after each event. */
  #changed(verb: 'add' | 'update' | 'delete', obj: V1ConfigMap): void {
    this.#apply(verb, obj);
    this.#report();
  }

  #apply(verb: 'add' | 'update' | 'delete', obj: V1ConfigMap): void {
    const object = obj.metadata?.name;
    if (object === undefined || object === this.#opts.ownObject) return;
    const before = this.#entries.get(object);
    if (verb === 'delete') {
      this.#entries.delete(object);
      this.#rejected.delete(object);
      if (before?.fresh) this.#notify('replica left', before);
      return;
    }
    const resourceVersion = obj.metadata?.resourceVersion ?? '';
    // A relist re-delivers objects that did not change: that is not a heartbeat.
    if (before !== undefined && before.resourceVersion === resourceVersion) return;
    const decoded = decodeFleetReport(obj.data);
    if (!decoded.ok) {
      if (this.#rejected.get(object) !== resourceVersion) this.#log.warn({ object, error: decoded.error }, 'fleet report ignored: unreadable');
      this.#rejected.set(object, resourceVersion);
      this.#entries.delete(object);
      if (before?.fresh) this.#notify('report unreadable', before);
      return;
    }
    this.#rejected.delete(object);
    const entry: Entry = { object, resourceVersion, report: decoded.report, proxiesKey: JSON.stringify(decoded.report.proxies), seenAt: performance.now(), fresh: true };
    this.#entries.set(object, entry);
    if (before === undefined || !before.fresh || before.proxiesKey !== entry.proxiesKey) {
      if (before === undefined || !before.fresh) this.#log.info({ replica: entry.report.replica, proxies: entry.report.proxies.length }, 'counting the proxies of another replica');
      this.#opts.onChange();
    }
  }

  #sweep(): void {
    const now = performance.now();
    const collectAfterMs = this.#opts.collectAfterMs ?? this.#opts.staleAfterMs * 10;
    let wentStale = false;
    for (const e of this.#entries.values()) {
      const age = now - e.seenAt;
      if (e.fresh && age >= this.#opts.staleAfterMs) {
        e.fresh = false;
        wentStale = true;
        this.#notify('replica stale: no heartbeat', e);
      }
      if (!e.fresh && age >= collectAfterMs && this.#opts.isLeader()) void this.#collect(e);
    }
    if (wentStale) this.#report();
  }

  #report(): void {
    const metrics = this.#opts.metrics;
    if (metrics === undefined) return;
    const counts = { fresh: 0, stale: 0, proxies: 0 };
    for (const e of this.#entries.values()) {
      if (!e.fresh) counts.stale++;
      else {
        counts.fresh++;
        counts.proxies += e.report.proxies.length;
      }
    }
    metrics.roster(counts);
  }

  #notify(why: string, e: Entry): void {
    this.#log.info({ replica: e.report.replica, proxies: e.report.proxies.length }, `no longer counting the proxies of another replica: ${why}`);
    this.#opts.onChange();
  }

  /** Deletes a long-dead replica's object, only if it is still the version seen (a replica that came back keeps its own). */
  async #collect(e: Entry): Promise<void> {
    e.seenAt = performance.now(); // no second attempt until another window has passed
    try {
      await this.#api.deleteNamespacedConfigMap({ name: e.object, namespace: this.#opts.namespace, body: { preconditions: { resourceVersion: e.resourceVersion } } });
      this.#opts.metrics?.collected();
      this.#log.info({ replica: e.report.replica, object: e.object }, 'deleted the fleet object of a replica that stopped heartbeating');
    } catch (err) {
      if (httpStatusOf(err) !== 404 && httpStatusOf(err) !== 409) this.#log.warn({ object: e.object, err: describeApiError(err) }, 'deleting a stale fleet object failed');
    }
  }
}
