// Hands the leader's latest statuses to the status writer, one write at a time. What waits is merged per
// resource, newest wins, so a full compile and a re-check of a few resources can both be queued without one
// dropping the other. A write with failures is retried after a backoff (unless newer statuses arrive first), so a
// transient API error does not leave statuses stale until the next change.
import type { Logger } from 'pino';
import type { ResourceStatus } from './compile/compile-types.ts';
import { resourceKey } from './compile/resource-key.ts';
import type { LiveState } from './sources/kube-source.ts';
import { JitteredBackoff } from './sources/jittered-backoff.ts';

export interface StatusSink {
  write(statuses: ResourceStatus[], live: Map<string, LiveState>): Promise<{ patched: string[]; failed: string[] }>;
}

interface Pending {
  statuses: Map<string, ResourceStatus>;
  live: Map<string, LiveState>;
}

export class StatusSync {
  readonly #sink: StatusSink;
  readonly #log: Logger;
  readonly #backoff = new JitteredBackoff({ initialMs: 500, maxMs: 30_000 });
  readonly #onResult: ((r: { patched: number; failed: number }) => void) | undefined;
  #pending: Pending | undefined;
  #writing: Promise<void> | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #enabled = false;
  #lastActivityAt = 0;

  constructor(sink: StatusSink, logger: Logger, onResult?: (r: { patched: number; failed: number }) => void) {
    this.#sink = sink;
    this.#log = logger;
    this.#onResult = onResult;
  }

  /** Only the leader writes; disabling drops anything queued. */
  setEnabled(enabled: boolean): void {
    this.#enabled = enabled;
    if (!enabled) {
      this.#pending = undefined;
      if (this.#retryTimer) clearTimeout(this.#retryTimer);
      this.#retryTimer = undefined;
    }
  }

  push(statuses: ResourceStatus[], live: Map<string, LiveState>): void {
    if (!this.#enabled) return;
    const pending = (this.#pending ??= { statuses: new Map(), live: new Map() });
    for (const status of statuses) {
      const key = resourceKey(status);
      pending.statuses.set(key, status);
      const state = live.get(key);
      if (state) pending.live.set(key, state);
      else pending.live.delete(key);
    }
    if (this.#retryTimer) {
      clearTimeout(this.#retryTimer);
      this.#retryTimer = undefined;
    }
    this.#writing ??= this.#drain().finally(() => (this.#writing = undefined));
  }

  /** Nothing written, queued or waiting for a retry for at least `ms` (benchmarks wait for this). */
  idleFor(ms: number): boolean {
    return this.#writing === undefined && this.#pending === undefined && this.#retryTimer === undefined && Date.now() - this.#lastActivityAt >= ms;
  }

  close(): void {
    this.setEnabled(false);
  }

  async #drain(): Promise<void> {
    while (this.#pending && this.#enabled) {
      const batch = { statuses: [...(this.#pending.statuses.values())], live: this.#pending.live };
      this.#pending = undefined;
      let failed: number;
      this.#lastActivityAt = Date.now();
      try {
        const result = await this.#sink.write(batch.statuses, batch.live);
        this.#lastActivityAt = Date.now();
        failed = result.failed.length;
        this.#onResult?.({ patched: result.patched.length, failed });
        if (result.patched.length > 0 || failed > 0) this.#log.info({ patched: result.patched.length, failed }, 'statuses written');
      } catch (err) {
        failed = batch.statuses.length;
        this.#log.error({ err }, 'status write failed');
      }
      if (failed === 0) this.#backoff.reset();
      else if (!this.#pending && this.#enabled) {
        const delay = this.#backoff.next();
        this.#retryTimer = setTimeout(() => {
          this.#retryTimer = undefined;
          if (!this.#pending) this.push(batch.statuses, batch.live);
        }, delay);
      }
    }
  }
}
