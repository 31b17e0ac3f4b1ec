// Kubernetes Events (core/v1) for resources that became rejected, so `kubectl describe` and `kubectl get events`
// show why. The status diff only reports new problems; repeats of an event we already sent bump its count
// (as client-go's event correlator does) instead of creating another object.
import { CoreV1Api, PatchStrategy, setHeaderOptions, type CoreV1Event, type KubeConfig } from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { API_VERSION } from '../../crds/schemas/index.ts';
import { describeApiError, httpStatusOf } from './kube-errors.ts';
import type { Rejection } from './status-diff.ts';

export interface InvolvedObject {
  kind: string;
  namespace: string;
  name: string;
  uid?: string;
  resourceVersion?: string;
}

export interface EventRecorderOptions {
  kubeConfig: KubeConfig;
  logger: Logger;
  /** `source.component` / `reportingComponent`. */
  component?: string;
  /** `reportingInstance`, e.g. the pod name. */
  instance?: string;
  /** Events remembered for count bumps; the oldest is forgotten first. */
  maxTracked?: number;
}

/** Event messages are capped by the API (1 KiB for events.k8s.io); keep core/v1 events within it too. */
const MAX_MESSAGE = 1024;

export class EventRecorder {
  readonly counters = { created: 0, bumped: 0, failed: 0 };
  private readonly api: CoreV1Api;
  private readonly logger: Logger;
  private readonly component: string;
  private readonly instance: string | undefined;
  private readonly maxTracked: number;
  /** Dedup key → the event we created and how many times it happened. */
  private readonly sent = new Map<string, { name: string; namespace: string; count: number }>();

  constructor(options: EventRecorderOptions) {
    this.api = options.kubeConfig.makeApiClient(CoreV1Api);
    this.logger = options.logger;
    this.component = options.component ?? 'gatehouse-controller';
    this.instance = options.instance;
    this.maxTracked = options.maxTracked ?? 1000;
  }

  /** One Warning per rejection. Best effort: failures are logged, never thrown (status is the record of truth). */
  async recordRejections(object: InvolvedObject, rejections: Rejection[]): Promise<void> {
    for (const r of rejections) await this.warn(object, r.reason, `${r.type}: ${r.message}`);
  }

  async warn(object: InvolvedObject, reason: string, message: string): Promise<void> {
    const text = message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE - 1)}…` : message;
    const key = [object.kind, object.namespace, object.name, object.uid ?? '', reason, text].join('\u0000');
    const now = new Date();
    try {
      const previous = this.sent.get(key);
      if (previous && (await this.bump(previous, now))) return;
      await this.create(key, object, reason, text, now);
    } catch (err) {
      this.counters.failed++;
      this.logger.warn({ resource: `${object.kind}/${object.namespace}/${object.name}`, reason, err: describeApiError(err) }, 'event not recorded');
    }
  }

  /** False when the event is gone (events expire after an hour by default): the caller creates a new one. */
  private async bump(previous: { name: string; namespace: string; count: number }, now: Date): Promise<boolean> {
    try {
      await this.api.patchNamespacedEvent(
        { name: previous.name, namespace: previous.namespace, body: { count: previous.count + 1, lastTimestamp: now.toISOString() } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    } catch (err) {
      if (httpStatusOf(err) === 404) return false;
      throw err;
    }
    previous.count++;
    this.counters.bumped++;
    return true;
  }

  private async create(key: string, object: InvolvedObject, reason: string, message: string, now: Date): Promise<void> {
    // client-go names events "<object>.<unix nanos in hex>"; the object part is trimmed to keep within 253 characters.
    const name = `${object.name.slice(0, 230)}.${(BigInt(now.getTime()) * 1_000_000n + process.hrtime.bigint() % 1_000_000n).toString(16)}`;
    try {
      await this.createNamed(name, key, object, reason, message, now);
    } catch (err) {
      if (httpStatusOf(err) !== 409) throw err;
      await this.createNamed(`${name}${randomBytes(2).toString('hex')}`, key, object, reason, message, now); // same nanosecond as another event
    }
  }

  private async createNamed(name: string, key: string, object: InvolvedObject, reason: string, message: string, now: Date): Promise<void> {
    const body: CoreV1Event = {
      metadata: { name, namespace: object.namespace },
      involvedObject: {
        apiVersion: API_VERSION,
        kind: object.kind,
        namespace: object.namespace,
        name: object.name,
        ...(object.uid ? { uid: object.uid } : {}),
        ...(object.resourceVersion ? { resourceVersion: object.resourceVersion } : {}),
      },
      type: 'Warning',
      reason,
      message,
      count: 1,
      firstTimestamp: now,
      lastTimestamp: now,
      source: { component: this.component },
      reportingComponent: this.component,
      ...(this.instance ? { reportingInstance: this.instance } : {}),
    };
    await this.api.createNamespacedEvent({ namespace: object.namespace, body });
    this.counters.created++;
    this.sent.set(key, { name, namespace: object.namespace, count: 1 });
    if (this.sent.size > this.maxTracked) this.sent.delete(this.sent.keys().next().value!);
  }
}
