// Keeps one client-node informer running. The library's informer stops for good on any error other than 410
// (which it handles by relisting), so this restarts it with jittered backoff; a restart resumes the watch from
// the last resourceVersion, and when that is too old the API server answers 410 and the informer relists.
// `synced` turns true once a list has succeeded and a watch is then open, and stays true across restarts (the cache
// keeps serving what it had). The list and the watch may succeed in different runs: a watch refused right after a
// good list (a 429 from a busy API server) is resumed from the list's resourceVersion, with no new list.
import type { Informer, KubernetesListObject, KubernetesObject, ObjectCache } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { JitteredBackoff } from './jittered-backoff.ts';

export interface InformerSupervisorOptions<T extends KubernetesObject> {
  /** For logs and metrics, e.g. "ApiRoute (all namespaces)". */
  name: string;
  /** Builds the informer around the (wrapped) list function; called once. */
  create: (list: () => Promise<KubernetesListObject<T>>) => Informer<T> & ObjectCache<T>;
  list: () => Promise<KubernetesListObject<T>>;
  onChange: (verb: 'add' | 'update' | 'delete', obj: T) => void;
  onRestart?: () => void;
  logger: Logger;
  backoff?: { initialMs: number; maxMs: number };
  /** A run this long without errors resets the backoff. */
  healthyAfterMs?: number;
}

export class InformerSupervisor<T extends KubernetesObject> {
  readonly name: string;
  readonly #opts: InformerSupervisorOptions<T>;
  readonly #informer: Informer<T> & ObjectCache<T>;
  readonly #backoff: JitteredBackoff;
  readonly #log: Logger;
  #synced = false;
  /** A list has succeeded at some point: the cache is complete, and the next watch that opens makes it synced. */
  #listed = false;
  #failedSinceStart = false;
  #restartTimer: NodeJS.Timeout | undefined;
  #startedAt = 0;
  #stopped = false;
  #restarts = 0;
  #syncWaiters: (() => void)[] = [];

  constructor(opts: InformerSupervisorOptions<T>) {
    this.name = opts.name;
    this.#opts = opts;
    this.#log = opts.logger.child({ informer: opts.name });
    this.#backoff = new JitteredBackoff(opts.backoff ?? { initialMs: 500, maxMs: 30_000 });
    this.#informer = opts.create(async () => {
      const result = await opts.list();
      this.#listed = true;
      return result;
    });
    this.#informer.on('add', (obj: T) => opts.onChange('add', obj));
    this.#informer.on('update', (obj: T) => opts.onChange('update', obj));
    this.#informer.on('delete', (obj: T) => opts.onChange('delete', obj));
    this.#informer.on('error', (err: unknown) => this.#failed(err));
  }

  get synced(): boolean {
    return this.#synced;
  }

  get restarts(): number {
    return this.#restarts;
  }

  list(): readonly T[] {
    return this.#informer.list();
  }

  get(namespace: string, name: string): T | undefined {
    return this.#informer.get(name, namespace);
  }

  start(): void {
    this.#stopped = false;
    void this.#run();
  }

  /** Resolves once the first list has succeeded (or never, if it never does: callers bound the wait). */
  whenSynced(): Promise<void> {
    if (this.#synced) return Promise.resolve();
    return new Promise((resolve) => this.#syncWaiters.push(resolve));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#restartTimer) clearTimeout(this.#restartTimer);
    this.#restartTimer = undefined;
    await this.#informer.stop();
  }

  async #run(): Promise<void> {
    this.#failedSinceStart = false;
    this.#startedAt = Date.now();
    try {
      await this.#informer.start();
    } catch (err) {
      this.#failed(err);
      return;
    }
    if (this.#stopped || this.#failedSinceStart) return;
    if (this.#listed) {
      // Resumed without a relist counts too: the cache was complete since that list.
      if (!this.#synced) this.#log.info('synced');
      this.#synced = true;
      for (const resolve of this.#syncWaiters.splice(0)) resolve();
    }
  }

  #failed(err: unknown): void {
    this.#failedSinceStart = true;
    if (this.#stopped || this.#restartTimer !== undefined) return;
    if (Date.now() - this.#startedAt > (this.#opts.healthyAfterMs ?? 60_000)) this.#backoff.reset();
    const delay = this.#backoff.next();
    this.#log.warn({ err: describe(err), retryInMs: delay }, 'informer stopped; restarting');
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined;
      if (this.#stopped) return;
      this.#restarts++;
      this.#opts.onRestart?.();
      void this.#run();
    }, delay);
  }
}

/** Errors from the client carry whole responses (headers included); log the status and the API's message only. */
function describe(err: unknown): { message: string; code?: number } {
  const text = err instanceof Error ? err.message : String(err);
  const code = typeof err === 'object' && err !== null ? ((err as { code?: unknown }).code ?? (err as { statusCode?: unknown }).statusCode) : undefined;
  const apiMessage = /\\"message\\":\\"((?:[^"\\]|\\[^"])*)\\"/.exec(text)?.[1];
  return { message: (apiMessage ?? text.split('\n')[0] ?? '').slice(0, 300), ...(typeof code === 'number' && { code }) };
}
