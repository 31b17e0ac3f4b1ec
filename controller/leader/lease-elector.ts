// Leader election on a coordination.k8s.io/v1 Lease (client-node has no helper), with client-go's semantics:
// candidates retry every retryPeriod; the leader renews every retryPeriod and steps down when it could not
// renew for renewDeadline (before anyone else may consider the lease expired); writes are conditional on
// resourceVersion, so of two candidates racing for an expired lease exactly one wins (the other gets 409).
import { CoordinationV1Api, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { describeApiError, httpStatusOf } from '../status/kube-errors.ts';
import { decide, nextSpec, observe, readRecord, releasedSpec, type LeaseRecord, type Observation } from './lease-decision.ts';

export interface LeaseElectorOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  name: string;
  /** Unique per replica (pod name + a random suffix). */
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  logger: Logger;
  onStartedLeading?: () => void | Promise<void>;
  onStoppedLeading?: () => void | Promise<void>;
}

/** client-go's JitterFactor: candidates spread their retries so they do not hit the API server in lockstep. */
const JITTER = 1.2;

export class LeaseElector {
  private readonly api: CoordinationV1Api;
  private readonly options: LeaseElectorOptions;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly logger: Logger;
  private leading = false;
  private observation: Observation | undefined;
  /** Monotonic time of the last successful renewal (or acquisition). */
  private lastRenewMs = 0;
  private loop: Promise<void> | undefined;
  private stopping = false;
  private wake: (() => void) | undefined;
  /** Set by an attempt that found someone else holding a valid lease: a leader steps down at once. */
  private lostTo: string | undefined;

  constructor(options: LeaseElectorOptions) {
    this.options = options;
    this.api = options.kubeConfig.makeApiClient(CoordinationV1Api);
    this.leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = options.retryPeriodMs ?? 2_000;
    this.logger = options.logger;
    // The leader must give up before a follower may take over, or two would lead at once.
    if (this.leaseDurationMs <= this.renewDeadlineMs) throw new Error('leaseDurationMs must be greater than renewDeadlineMs');
    if (this.renewDeadlineMs <= this.retryPeriodMs * JITTER) throw new Error(`renewDeadlineMs must be greater than ${JITTER} × retryPeriodMs`);
    if (this.leaseDurationMs % 1000 !== 0) throw new Error('leaseDurationMs must be whole seconds (Lease.spec.leaseDurationSeconds)');
  }

  isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    if (this.loop) return;
    this.stopping = false;
    this.loop = this.run();
  }

  /** Stops competing; when leading, releases the lease (no holder) so a successor takes over at once. */
  async stop(): Promise<void> {
    if (!this.loop) return;
    this.stopping = true;
    this.wake?.();
    await this.loop;
    this.loop = undefined;
    if (!this.leading) return;
    try {
      await this.withDeadline(this.release(), this.renewDeadlineMs);
      this.logger.info({ lease: this.leaseRef() }, 'lease released');
    } catch (err) {
      this.logger.warn({ lease: this.leaseRef(), err: describeApiError(err) }, 'lease release failed; it will expire instead');
    }
    this.stepDown();
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      const timeout = this.leading ? this.lastRenewMs + this.renewDeadlineMs - performance.now() : this.renewDeadlineMs;
      let held = false;
      try {
        held = await this.withDeadline(this.tryAcquireOrRenew(), Math.max(timeout, 1));
      } catch (err) {
        this.logger.debug({ lease: this.leaseRef(), err: describeApiError(err) }, 'lease attempt failed');
      }
      const now = performance.now();
      if (held) {
        this.lastRenewMs = now;
        if (!this.leading) {
          this.leading = true;
          this.logger.info({ lease: this.leaseRef(), identity: this.options.identity }, 'started leading');
          this.fire(this.options.onStartedLeading, 'onStartedLeading');
        }
      } else if (this.leading && (this.lostTo !== undefined || now - this.lastRenewMs >= this.renewDeadlineMs)) {
        this.logger.warn({ lease: this.leaseRef(), holder: this.lostTo }, this.lostTo ? 'lease taken by another holder' : 'lease not renewed within the renew deadline');
        this.stepDown();
      }
      if (this.stopping) break;
      await this.sleep(this.leading ? this.retryPeriodMs : this.retryPeriodMs * (1 + Math.random() * (JITTER - 1)));
    }
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    this.lostTo = undefined;
    const { namespace, name, identity } = this.options;
    const durationSeconds = this.leaseDurationMs / 1000;
    let lease: V1Lease;
    try {
      lease = await this.api.readNamespacedLease({ namespace, name });
    } catch (err) {
      if (httpStatusOf(err) !== 404) throw err;
      const spec = nextSpec('create', undefined, identity, durationSeconds, new Date());
      try {
        await this.api.createNamespacedLease({ namespace, body: { metadata: { name, namespace }, spec } });
      } catch (createErr) {
        if (httpStatusOf(createErr) === 409) return false; // another candidate created it first
        throw createErr;
      }
      this.observation = observe(undefined, readRecord(spec), performance.now());
      return true;
    }
    const record = readRecord(lease.spec);
    const now = performance.now();
    this.observation = observe(this.observation, record, now);
    const decision = decide({ record, observation: this.observation, identity, nowMs: now, leaseDurationMs: this.leaseDurationMs });
    if (decision.action === 'wait') {
      this.lostTo = decision.holder;
      return false;
    }
    const spec = nextSpec(decision.action, record, identity, durationSeconds, new Date());
    try {
      await this.api.replaceNamespacedLease({ namespace, name, body: { ...lease, spec } });
    } catch (err) {
      if (httpStatusOf(err) === 409) return false; // changed since we read it: someone else renewed or won
      throw err;
    }
    this.observation = observe(this.observation, readRecord(spec), performance.now());
    return true;
  }

  private async release(): Promise<void> {
    const { namespace, name, identity } = this.options;
    const lease = await this.api.readNamespacedLease({ namespace, name });
    const record: LeaseRecord = readRecord(lease.spec);
    if (record.holderIdentity !== identity) return; // already someone else's: nothing of ours to release
    await this.api.replaceNamespacedLease({ namespace, name, body: { ...lease, spec: releasedSpec(record, new Date()) } });
  }

  private stepDown(): void {
    if (!this.leading) return;
    this.leading = false;
    this.logger.info({ lease: this.leaseRef(), identity: this.options.identity }, 'stopped leading');
    this.fire(this.options.onStoppedLeading, 'onStoppedLeading');
  }

  private fire(callback: (() => void | Promise<void>) | undefined, label: string): void {
    if (!callback) return;
    Promise.resolve()
      .then(callback)
      .catch((err: unknown) => this.logger.error({ err: err instanceof Error ? err.message : String(err) }, `${label} threw`));
  }

  private leaseRef(): string {
    return `${this.options.namespace}/${this.options.name}`;
  }

  /** A hung request must not keep a leader leading past its renew deadline. */
  private withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`lease request timed out after ${Math.round(ms)} ms`)), ms);
      work.then(
        (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        (e: unknown) => {
          clearTimeout(timer);
          reject(e instanceof Error ? e : new Error(String(e)));
        },
      );
    });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}
