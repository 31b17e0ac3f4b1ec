// The Redis connection behind global rate limits: one ioredis client (standalone from a redis:// or rediss:// URL,
// or a Cluster from seed nodes) tuned so a limiter can fall back instead of waiting:
//
//   const conn = new RedisConnection({ url, password, commandTimeoutMs: 50, connectTimeoutMs: 2_000, logger });
//   conn.status()            // 'connecting' (never ready yet) | 'ready' | 'unavailable' (lost, or failing to connect)
//   conn.onStatus(fn)        // → unsubscribe; called on each transition (also logged, once per transition)
//   await conn.close()
//
// - No offline queue and maxRetriesPerRequest 0: a command while disconnected, or in flight when the link drops,
//   fails at once; none is replayed after a reconnect (a replayed take would count twice).
// - commandTimeout bounds every command; commands are pipelined on the one connection (sent without waiting for
//   earlier replies). ioredis's autopipelining (one write per tick) is off for one Redis: it cost more CPU per
//   decision than it saved in writes (`node bench/run.ts --cases limits-global`: about 9.3k → 11k req/s). A Cluster
//   keeps it (see there). A gateway-side deadline sweep instead of commandTimeout's timer per command measured
//   slower (an extra promise per decision costs more than the timer).
// - Reconnects forever with capped, jittered backoff, so Redis coming back needs no proxy restart.
// - The password (option or URL) never appears in a log line or an error message made here: messages pass through
//   redact(). ioredis' own error objects can carry it (a failed HELLO's `command.args`), so only their message is used.
import { isIP } from 'node:net';
import type { Cluster, ClusterOptions, Redis, RedisOptions } from 'ioredis';
import { ioredisPackage } from '../../runtime/on-demand-packages.ts';
import type { Logger } from 'pino';

export type RedisStatus = 'connecting' | 'ready' | 'unavailable';

export interface RedisConnectionOptions {
  /** redis://[user:password@]host[:port][/db] or rediss://… (TLS). Exactly one of url and clusterNodes. */
  url?: string;
  /** Cluster seed nodes, "host:port" ("[v6]:port" for IPv6). */
  clusterNodes?: string[];
  /** Overrides a password in the URL. */
  password?: string;
  /** ACL user for clusterNodes (a URL carries its own). */
  username?: string;
  /** TLS to cluster nodes (a URL says it with rediss://). */
  tls?: boolean;
  /** PEM CA bundle that replaces the default roots for TLS (a private CA, as in most clusters). */
  caPem?: string;
  commandTimeoutMs: number;
  connectTimeoutMs: number;
  logger: Logger;
}

export interface RedisStatusInfo {
  /** The last connection error, redacted; set when unavailable. */
  error?: string;
}

export type RedisStatusListener = (status: RedisStatus, info: RedisStatusInfo) => void;

const RECONNECT_INITIAL_MS = 50;
const RECONNECT_MAX_MS = 2_000;

/** Capped exponential backoff with jitter (50–100% of the ceiling): a fleet does not reconnect in lockstep. */
function reconnectDelay(times: number): number {
  const ceiling = Math.min(RECONNECT_MAX_MS, RECONNECT_INITIAL_MS * 2 ** Math.min(Math.max(times - 1, 0), 16));
  return Math.round(ceiling * (0.5 + 0.5 * Math.random()));
}

interface Endpoint {
  host: string;
  port: number;
}

function parseHostPort(text: string, index: number): Endpoint {
  const m = /^(?:\[([^\]]+)\]|([^:[\]@/]+)):(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[3]) : NaN;
  // Not echoed: a URL pasted here could hold a password.
  if (!m || !(port >= 1 && port <= 65_535)) throw new Error(`redis: cluster node #${index + 1} is not host:port`);
  return { host: (m[1] ?? m[2]) as string, port };
}

interface ParsedUrl extends Endpoint {
  tls: boolean;
  username?: string;
  password?: string;
  /** The password as written in the URL (percent-encoded), to redact that form too. */
  rawPassword?: string;
  db: number;
  /** The URL with its password replaced, for logs. */
  display: string;
}

function parseRedisUrl(url: string): ParsedUrl {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    // The URL's own text is left out: it may hold the password.
    throw new Error('redis: the URL is not valid (expected redis://[user:password@]host[:port][/db] or rediss://…)');
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new Error(`redis: unsupported URL scheme "${u.protocol}" (redis: or rediss:)`);
  if (u.hostname === '') throw new Error('redis: the URL has no host');
  const dbText = u.pathname.replace(/^\//, '');
  const db = dbText === '' ? 0 : Number(dbText);
  if (!Number.isInteger(db) || db < 0) throw new Error('redis: the URL path must be a database number');
  const rawPassword = u.password === '' ? undefined : u.password;
  const safe = new URL(u.href);
  if (rawPassword !== undefined) safe.password = '***';
  return {
    host: u.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: u.port === '' ? 6379 : Number(u.port),
    tls: u.protocol === 'rediss:',
    username: u.username === '' ? undefined : decodeURIComponent(u.username),
    password: rawPassword === undefined ? undefined : decodeURIComponent(rawPassword),
    rawPassword,
    db,
    display: safe.href,
  };
}

export class RedisConnection {
  /** The ioredis client; the store defines its scripts on it. */
  readonly client: Redis | Cluster;
  /** The client is a Cluster (seed nodes), not one Redis. */
  readonly isCluster: boolean;
  /** Where it connects, without the password: for logs and errors. */
  readonly target: string;
  readonly #logger: Logger;
  readonly #secrets: string[];
  readonly #listeners = new Set<RedisStatusListener>();
  /** Set once the connection was lost or an attempt failed: connecting again is then 'unavailable'. */
  #failed = false;
  #notified: RedisStatus = 'connecting';
  /** Cluster: whether some master is connected; recomputed on node events, so status() stays allocation-free. */
  #masterUp = true;
  #lastError: string | undefined;
  #closed = false;

  constructor(options: RedisConnectionOptions) {
    this.#logger = options.logger;
    const hasUrl = options.url !== undefined && options.url !== '';
    const hasNodes = options.clusterNodes !== undefined && options.clusterNodes.length > 0;
    if (hasUrl === hasNodes) throw new Error('redis: give exactly one of url and clusterNodes');
    // Loaded here, not at start: a proxy without Redis never loads ioredis.
    const ioredis = ioredisPackage();
    this.isCluster = hasNodes;
    const common = {
      commandTimeout: options.commandTimeoutMs,
      connectTimeout: options.connectTimeoutMs,
      // In-flight commands fail when the link drops rather than wait for a reconnect, and are not resent after it.
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      connectionName: 'gatehouse-rate-limit',
    } satisfies RedisOptions;

    if (hasUrl) {
      const parsed = parseRedisUrl(options.url as string);
      const password = options.password ?? parsed.password;
      this.#secrets = [password, parsed.password, parsed.rawPassword].filter((s): s is string => s !== undefined && s !== '');
      this.target = parsed.display;
      this.client = new ioredis.Redis({
        ...common,
        host: parsed.host,
        port: parsed.port,
        db: parsed.db,
        username: parsed.username,
        password,
        tls: parsed.tls ? { servername: isIP(parsed.host) === 0 ? parsed.host : undefined, ca: options.caPem } : undefined,
        enableOfflineQueue: false,
        retryStrategy: reconnectDelay,
      });
    } else {
      const nodes = (options.clusterNodes as string[]).map((n, i) => parseHostPort(n, i));
      this.#secrets = options.password ? [options.password] : [];
      this.target = `cluster ${nodes.map((n) => (n.host.includes(':') ? `[${n.host}]:${n.port}` : `${n.host}:${n.port}`)).join(',')}`;
      const clusterOptions: ClusterOptions = {
        // Governs the cluster: a command for a node that is not connected fails at once. ioredis forces the offline
        // queue on for the per-node clients (redisOptions cannot carry it; its type omits it) so that a node
        // connection in 'wait' still takes commands; those are bounded by commandTimeout.
        enableOfflineQueue: false,
        // Kept on for a Cluster: without it, a command sent to a node connection ioredis has not opened yet failed
        // with "Connection is closed" (the first takes after start, and after a node came back).
        enableAutoPipelining: true,
        clusterRetryStrategy: reconnectDelay,
        // By default a node connection that drops is forgotten until a slots refresh, and none is scheduled (the
        // documented 5 s interval is not the default): a restarted master stayed unreachable. Reconnect nodes, and
        // refresh the topology periodically.
        clusterNodeRetryStrategy: reconnectDelay,
        slotsRefreshInterval: 2_000,
        slotsRefreshTimeout: options.connectTimeoutMs,
        // A node down or the cluster down: fail now (the caller falls back) instead of retrying every 100 ms.
        retryDelayOnFailover: 0,
        retryDelayOnClusterDown: 0,
        // MOVED, ASK and TRYAGAIN (a multi-key script during a slot migration) are retried, this many times at most.
        maxRedirections: 6,
        redisOptions: {
          ...common,
          username: options.username,
          password: options.password,
          tls: options.tls ? { ca: options.caPem } : undefined,
        },
      };
      this.client = new ioredis.Cluster(nodes, clusterOptions);
    }

    const onChange = (): void => this.#check();
    for (const event of ['connect', 'ready', 'close', 'reconnecting', 'end']) this.client.on(event, onChange);
    // An 'error' listener is required (ioredis prints unhandled ones); errors repeat on every reconnect attempt, so
    // they are only remembered here and reported with the next transition.
    this.client.on('error', (err: Error) => this.#recordError(err));
    if (this.isCluster) {
      this.client.on('node error', (err: Error) => this.#recordError(err));
      // Node connections now reconnect on their own, so the Cluster itself stays 'ready' through any outage: its
      // status comes from its masters (see status()), and each master's loss and return is logged once.
      this.client.on('+node', (node: Redis) => this.#watchNode(node));
      this.client.on('-node', onChange);
    }
    this.#logger.debug({ redis: this.target }, 'redis connecting');
  }

  /**
   * 'connecting' until first ready; 'ready'; 'unavailable' once lost or failing (until ready again). A Cluster is
   * 'ready' while at least one master is connected (a take for a lost master's slots still fails at once) and
   * 'unavailable' when none is. Cheap (no allocation): fine to ask per request.
   */
  status(): RedisStatus {
    const s = this.client.status;
    if (s === 'ready' && this.#masterUp) return 'ready';
    if (!this.#failed && (s === 'wait' || s === 'connecting' || s === 'connect')) return 'connecting';
    this.#failed = true;
    return 'unavailable';
  }

  /** Whether a command may be sent at all; cheap (no allocation), for every take. */
  canSend(): boolean {
    return this.client.status === 'ready';
  }

  /** The last connection error (redacted), while not ready. */
  lastError(): string | undefined {
    return this.status() === 'ready' ? undefined : this.#lastError;
  }

  onStatus(listener: RedisStatusListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** `text` with every form of the password replaced by ***. */
  redact(text: string): string {
    let out = text;
    for (const secret of this.#secrets) out = out.split(secret).join('***');
    return out;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const before = this.client.status;
    if (before === 'end') return;
    // Between attempts there is no socket: disconnect() just cancels the next attempt and no 'end' ever comes.
    const live = before === 'ready' || before === 'connect' || before === 'connecting';
    const ended = new Promise<void>((resolve) => {
      if (!live) return resolve();
      const timer = setTimeout(resolve, 1_000);
      timer.unref();
      this.client.once('end', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    // disconnect(), not QUIT: with no offline queue QUIT fails while disconnected, and in-flight takes should end now.
    this.client.disconnect();
    await ended;
    this.#check();
  }

  #someMasterUp(cluster: Cluster): boolean {
    // 'wait': known, not needed yet (connections are lazy). A master between reconnect attempts is down, so its
    // 'connecting' does not count: the status would flap on every attempt.
    return cluster.nodes('master').some((n) => n.status === 'ready' || n.status === 'wait');
  }

  #watchNode(node: Redis): void {
    const name = `${node.options.host}:${node.options.port}`;
    let lost = false;
    let error: string | undefined;
    node.on('error', (err: Error) => (error = this.redact(err.message)));
    // 'reconnecting', not 'close': a node dropped from the topology closes too, and does not come back.
    node.on('reconnecting', () => {
      if (!lost && !this.#closed) this.#logger.warn({ redis: this.target, node: name, error }, 'redis cluster node unavailable');
      lost = true;
      this.#check();
    });
    node.on('ready', () => {
      if (lost) this.#logger.info({ redis: this.target, node: name }, 'redis cluster node ready');
      lost = false;
      this.#check();
    });
    node.on('end', () => this.#check());
  }

  #recordError(err: Error): void {
    // A Cluster's "Failed to refresh slots cache." says why only in lastNodeError.
    const cause = (err as { lastNodeError?: Error }).lastNodeError;
    const message = err.message || String(err);
    this.#lastError = this.redact(cause?.message ? `${message} (${cause.message})` : message);
  }

  #check(): void {
    if (this.isCluster) this.#masterUp = this.#someMasterUp(this.client as Cluster);
    const now = this.status();
    if (now === this.#notified) return;
    this.#notified = now;
    const info: RedisStatusInfo = now === 'ready' || this.#lastError === undefined ? {} : { error: this.#lastError };
    if (now === 'ready') this.#logger.info({ redis: this.target }, 'redis connection ready');
    else if (this.#closed) this.#logger.info({ redis: this.target }, 'redis connection closed');
    else this.#logger.warn({ redis: this.target, error: info.error }, 'redis connection unavailable');
    if (now === 'ready') this.#lastError = undefined;
    for (const listener of this.#listeners) {
      try {
        listener(now, info);
      } catch (err) {
        this.#logger.error({ error: this.redact(String(err)) }, 'redis status listener threw');
      }
    }
  }
}
