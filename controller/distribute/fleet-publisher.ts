// Publishes this replica's fleet (the proxies connected to it) to its own ConfigMap, so the leader can count them:
// shortly after every change (one write per `debounceMs` at most) and on a heartbeat, which is how the leader tells a
// live replica from one that was killed. Deleted on a graceful stop. Writes never overlap; a failed write is retried
// at the next change or heartbeat.
import { CoreV1Api, type KubeConfig, type V1ConfigMap } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { describeApiError, httpStatusOf } from '../status/kube-errors.ts';
import { encodeFleetReport, FLEET_DATA_KEY, FLEET_LABEL, fleetLabelValue, fleetObjectName, type FleetProxy } from './fleet-report.ts';

/** What the publisher reports to the controller's metrics. */
export interface FleetPublisherMetrics {
  /** A write of this replica's report failed (each one, though only the first of a run is logged). */
  publishFailed(): void;
}

export interface FleetPublisherOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  /** The controller deployment (its Lease name): labels the object, prefixes its name. */
  group: string;
  replica: string;
  heartbeatMs: number;
  /** Longest wait between a change and its write; default 200 ms. */
  debounceMs?: number;
  proxies: () => readonly FleetProxy[];
  logger: Logger;
  metrics?: FleetPublisherMetrics;
}

/** A delete on shutdown waits no longer than this: a stop must not hang on an unreachable API server. */
const DELETE_TIMEOUT_MS = 3_000;

export class FleetPublisher {
  readonly name: string;
  readonly #opts: FleetPublisherOptions;
  readonly #api: CoreV1Api;
  readonly #log: Logger;
  #debounce: NodeJS.Timeout | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #writing: Promise<void> | undefined;
  #again = false;
  #failing = false;
  #closed = false;
  /** Writes that succeeded (tests, /debug/fleet). */
  writes = 0;

  constructor(opts: FleetPublisherOptions) {
    this.#opts = opts;
    this.name = fleetObjectName(opts.group, opts.replica);
    this.#api = opts.kubeConfig.makeApiClient(CoreV1Api);
    this.#log = opts.logger.child({ component: 'fleet-publisher', object: `${opts.namespace}/${this.name}` });
  }

  start(): void {
    this.#heartbeat = setInterval(() => this.#write(), this.#opts.heartbeatMs);
    this.#heartbeat.unref();
    this.#write();
  }

  /** The fleet changed: write within `debounceMs` (a burst of changes makes one write). */
  poke(): void {
    if (this.#closed || this.#debounce !== undefined) return;
    this.#debounce = setTimeout(() => {
      this.#debounce = undefined;
      this.#write();
    }, this.#opts.debounceMs ?? 200);
  }

  /** Stops publishing and deletes the object, so the leader drops these proxies at once instead of after the staleness window. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#debounce);
    clearInterval(this.#heartbeat);
    await this.#writing;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), DELETE_TIMEOUT_MS)));
    const deleted = this.#api.deleteNamespacedConfigMap({ name: this.name, namespace: this.#opts.namespace }).then(
      () => 'deleted' as const,
      (err: unknown) => (httpStatusOf(err) === 404 ? ('deleted' as const) : err),
    );
    const outcome = await Promise.race([deleted, timeout]);
    clearTimeout(timer);
    if (outcome === 'timeout') this.#log.warn('fleet object not deleted in time; the leader drops it once it is stale');
    else if (outcome !== 'deleted') this.#log.warn({ err: describeApiError(outcome) }, 'fleet object not deleted; the leader drops it once it is stale');
  }

  #write(): void {
    if (this.#closed) return;
    if (this.#writing) {
      this.#again = true;
      return;
    }
    this.#writing = this.#put()
      .catch((err: unknown) => {
        this.#opts.metrics?.publishFailed();
        if (!this.#failing) this.#log.warn({ err: describeApiError(err) }, 'publishing the fleet failed; retrying on the next change or heartbeat');
        this.#failing = true;
      })
      .finally(() => {
        this.#writing = undefined;
        if (this.#again) {
          this.#again = false;
          this.#write();
        }
      });
  }

  async #put(): Promise<void> {
    const { namespace } = this.#opts;
    const body: V1ConfigMap = {
      metadata: { name: this.name, namespace, labels: { [FLEET_LABEL]: fleetLabelValue(this.#opts.group), 'app.kubernetes.io/managed-by': 'gatehouse' } },
      data: { [FLEET_DATA_KEY]: encodeFleetReport(this.#opts.replica, this.#opts.proxies(), Date.now()) },
    };
    // Only this replica writes this object, so an unconditional replace (no resourceVersion) is safe.
    try {
      await this.#api.replaceNamespacedConfigMap({ name: this.name, namespace, body });
    } catch (err) {
      if (httpStatusOf(err) !== 404) throw err;
      await this.#api.createNamespacedConfigMap({ namespace, body });
    }
    this.writes++;
    if (this.#failing) this.#log.info('publishing the fleet works again');
    this.#failing = false;
  }
}
