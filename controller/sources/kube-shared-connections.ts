// client-node 2.x builds a new undici dispatcher for every API request (KubeConfig.applySecurityAuthentication),
// so every request opens its own TLS (HTTP/2) connection and leaves it open. A leader writing 10k statuses held
// ~700 idle connections to the API server: ~150 MB of TLS and nghttp2 memory outside the JS heap, plus a
// handshake per request. This KubeConfig hands every request the first dispatcher built for its cluster and user,
// so informers, status writes, events and the Lease share one connection pool. Keyed like the library's own
// https.Agent cache (cluster and user names): a client certificate rotated on disk is picked up on restart.
import { KubeConfig, type RequestContext } from '@kubernetes/client-node';

type Dispatcher = ReturnType<RequestContext['getDispatcher']>;

export class SharedConnectionKubeConfig extends KubeConfig {
  readonly #dispatchers = new Map<string, NonNullable<Dispatcher>>();

  /** A copy of `kc` (clusters, users, contexts, current context) whose requests share connections. */
  static from(kc: KubeConfig): SharedConnectionKubeConfig {
    const shared = new SharedConnectionKubeConfig();
    shared.loadFromOptions({ clusters: kc.getClusters(), users: kc.getUsers(), contexts: kc.getContexts(), currentContext: kc.getCurrentContext() });
    return shared;
  }

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    const made = context.getDispatcher();
    // No dispatcher: plain http without TLS options, which uses undici's global (already shared) one.
    if (made === undefined) return;
    const key = JSON.stringify([this.getCurrentCluster()?.name ?? '', this.getCurrentUser()?.name ?? '']);
    const shared = this.#dispatchers.get(key);
    if (shared === undefined) this.#dispatchers.set(key, made);
    else context.setDispatcher(shared);
  }

  /** Closes the shared connections (after every informer, writer and elector using this config has stopped). */
  async closeConnections(): Promise<void> {
    const all = [...this.#dispatchers.values()];
    this.#dispatchers.clear();
    await Promise.allSettled(all.map((d) => d.close()));
  }
}
