// Counters of global limits in Redis: one atomic script run per take, one round trip, with the semantics of
// limit-types.ts (which the proxy-local store shares).
//
//   const store = new RedisLimitStore(connection);
//   const result = await store.take(policy.id, calls);   // TakeResult; rejects with RedisLimitError (safe to log)
//   await store.refund(policy.id, calls);                 // another store refused what this one admitted
//
// Keys: gatehouse:rl:{<tag>}:<call.key>, plus :<window.id> for a quota. The {tag} hash tag puts every key of one take
// in one Cluster slot, so one script can touch them all. A tag or key longer than 200 bytes is replaced by its sha256
// (hex) to keep keys short; so is a tag that is empty or holds { or } (either would break the hash tag).
import { createHash } from 'node:crypto';
import type { LimitCall, LimitState, TakeResult } from './limit-types.ts';
import type { RedisConnection } from './redis-connection.ts';

/**
 * The take script. Written this way because:
 * - reads first, writes only when every counter admits: all or nothing without MULTI, and a script error raised by a
 *   bad value (a wrong type, a non-number) aborts before anything is written;
 * - a bucket is timed by the server's clock (TIME; Redis 7 replicates scripts by their effects, so it is allowed), in
 *   whole microseconds (exact in a double), so proxies with skewed clocks share one bucket fairly;
 * - a quota's window comes from the caller (it chose the window id by its clock), and so do its reset times;
 * - tokens are fractional and stored with 17 significant digits (a round trip of the double); answers are integers
 *   (Lua numbers reach the client truncated): remaining = floor, resetMs and retryAfterMs = ceil;
 * - every key expires: a bucket when it would be full again (+1 s; an absent bucket is full, so nothing is lost), a
 *   quota 60 s after its window ends.
 *
 * KEYS[i]: counter i. ARGV[1]: the caller's clock (ms). Then 4 ARGV per counter:
 * 'b', rate, periodMs, burst (token bucket) | 'q', limit, windowEndMs, 0 (quota).
 * Reply: { allowed, then per counter: allowed, remaining, resetMs, retryAfterMs } as 0/1 and integers.
 */
export const REDIS_TAKE_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local clientNow = tonumber(ARGV[1])
local n = #KEYS
local level = {}
local all = true
for i = 1, n do
  local a = 4 * i - 2
  if ARGV[a] == 'b' then
    local rate, period, burst = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
    local h = redis.call('HMGET', KEYS[i], 'tokens', 'ts')
    local tokens = burst
    if h[1] and h[2] then
      local elapsed = now - tonumber(h[2])
      if elapsed < 0 then elapsed = 0 end
      tokens = math.min(burst, tonumber(h[1]) + elapsed * rate / (period * 1000))
    end
    level[i] = tokens
    if tokens < 1 then all = false end
  else
    local count = tonumber(redis.call('GET', KEYS[i]) or 0)
    level[i] = count
    if count >= tonumber(ARGV[a + 1]) then all = false end
  end
end
local out = { all and 1 or 0 }
for i = 1, n do
  -- counter i's ARGV start at 4i-2 and its answers at out[4i-2] (out[1] is the verdict)
  local a = 4 * i - 2
  if ARGV[a] == 'b' then
    local rate, period, burst = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
    local tokens = level[i]
    local left = tokens
    if all then
      left = tokens - 1
      redis.call('HSET', KEYS[i], 'tokens', string.format('%.17g', left), 'ts', string.format('%.0f', now))
      redis.call('PEXPIRE', KEYS[i], math.ceil((burst - left) * period / rate) + 1000)
    end
    out[a] = tokens >= 1 and 1 or 0
    out[a + 1] = math.floor(left)
    out[a + 2] = math.ceil((burst - left) * period / rate)
    out[a + 3] = tokens >= 1 and 0 or math.ceil((1 - tokens) * period / rate)
  else
    local limit, windowEnd = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
    local count = level[i]
    local ok = count < limit
    if all then
      count = redis.call('INCR', KEYS[i])
      redis.call('PEXPIREAT', KEYS[i], windowEnd + 60000)
    end
    local reset = math.max(0, windowEnd - clientNow)
    out[a] = ok and 1 or 0
    out[a + 1] = math.max(0, limit - count)
    out[a + 2] = reset
    out[a + 3] = ok and 0 or reset
  end
end
return out
`;

/**
 * The refund script: one unit back to each counter, same KEYS and ARGV as the take. A bucket gains a token (as of
 * now, capped at burst; a bucket full again is deleted, absent meaning full); a quota is decremented if above 0.
 */
export const REDIS_REFUND_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
for i = 1, #KEYS do
  local a = 4 * i - 2
  if ARGV[a] == 'b' then
    local rate, period, burst = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
    local h = redis.call('HMGET', KEYS[i], 'tokens', 'ts')
    if h[1] and h[2] then
      local elapsed = now - tonumber(h[2])
      if elapsed < 0 then elapsed = 0 end
      local tokens = math.min(burst, tonumber(h[1]) + elapsed * rate / (period * 1000) + 1)
      if tokens >= burst then
        redis.call('DEL', KEYS[i])
      else
        redis.call('HSET', KEYS[i], 'tokens', string.format('%.17g', tokens), 'ts', string.format('%.0f', now))
        redis.call('PEXPIRE', KEYS[i], math.ceil((burst - tokens) * period / rate) + 1000)
      end
    end
  else
    local count = tonumber(redis.call('GET', KEYS[i]) or 0)
    if count and count > 0 then redis.call('DECR', KEYS[i]) end
  end
end
return 0
`;

/** Why a take or refund failed: not connected, no answer within commandTimeout, or an error from Redis. */
export type RedisLimitFailure = 'unavailable' | 'timeout' | 'error';

/** A failed take or refund; the message never holds the password. */
export class RedisLimitError extends Error {
  readonly reason: RedisLimitFailure;
  constructor(reason: RedisLimitFailure, message: string) {
    super(message);
    this.name = 'RedisLimitError';
    this.reason = reason;
  }
}

const KEY_PREFIX = 'gatehouse:rl:';
const MAX_KEY_PART_BYTES = 200;
const MAX_CACHED_PREFIXES = 10_000;
const ALLOWED_EMPTY: TakeResult = Object.freeze({ allowed: true, states: Object.freeze([]) as readonly LimitState[] });

type ScriptFn = (...args: (string | number)[]) => Promise<unknown>;

function tooLong(s: string): boolean {
  // UTF-8 is at most 3 bytes per UTF-16 unit, so a short string needs no byte count.
  return s.length > MAX_KEY_PART_BYTES / 3 && Buffer.byteLength(s, 'utf8') > MAX_KEY_PART_BYTES;
}

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

/** The Redis key of one counter (for tests and tools: the store itself caches the tag part per tag). */
export function redisLimitKey(tag: string, call: LimitCall): string {
  return keyOf(prefixOf(tag), call);
}

function prefixOf(tag: string): string {
  const safe = tag === '' || tag.includes('{') || tag.includes('}') || tooLong(tag) ? sha256(tag) : tag;
  return `${KEY_PREFIX}{${safe}}:`;
}

function keyOf(prefix: string, call: LimitCall): string {
  const key = tooLong(call.key) ? sha256(call.key) : call.key;
  return call.window === undefined ? prefix + key : `${prefix}${key}:${call.window.id}`;
}

function toResult(reply: unknown): TakeResult {
  if (!Array.isArray(reply) || reply.length < 5 || (reply.length - 1) % 4 !== 0) {
    throw new RedisLimitError('error', 'redis rate-limit take: unexpected reply from the script');
  }
  const r = reply as number[];
  const states: LimitState[] = [];
  for (let i = 1; i < r.length; i += 4) {
    states.push({ allowed: r[i] === 1, remaining: r[i + 1] as number, resetMs: r[i + 2] as number, retryAfterMs: r[i + 3] as number });
  }
  return { allowed: r[0] === 1, states };
}

function ignore(): void {}

export class RedisLimitStore {
  readonly #conn: RedisConnection;
  readonly #prefixes = new Map<string, string>();
  /** Script commands by key count: defined with a fixed numberOfKeys so the first argument is the first key (see #script). */
  readonly #takeFns: (ScriptFn | undefined)[] = [];
  readonly #refundFns: (ScriptFn | undefined)[] = [];
  readonly #takeFailed: (err: unknown) => never;
  readonly #refundFailed: (err: unknown) => never;
  #corked = false;

  constructor(connection: RedisConnection) {
    this.#conn = connection;
    this.#takeFailed = (err) => {
      throw this.#error('take', err);
    };
    this.#refundFailed = (err) => {
      throw this.#error('refund', err);
    };
  }

  /** Take one unit from every counter of `calls`, all or nothing. `tag` is the RatePolicy id. */
  take(tag: string, calls: readonly LimitCall[]): Promise<TakeResult> {
    if (calls.length === 0) return Promise.resolve(ALLOWED_EMPTY);
    return this.#run('take', this.#takeFns, REDIS_TAKE_LUA, tag, calls).then(toResult, this.#takeFailed);
  }

  /** Give one unit back to every counter of `calls` (best effort: the caller may ignore a rejection). */
  refund(tag: string, calls: readonly LimitCall[]): Promise<void> {
    if (calls.length === 0) return Promise.resolve();
    return this.#run('refund', this.#refundFns, REDIS_REFUND_LUA, tag, calls).then(ignore, this.#refundFailed);
  }

  /** One script call for `calls`; rejects with a RedisLimitError when it cannot be sent. */
  #run(op: 'take' | 'refund', fns: (ScriptFn | undefined)[], lua: string, tag: string, calls: readonly LimitCall[]): Promise<unknown> {
    // Checked here too: before a Cluster has its slots, ioredis would hold a command until it connects.
    if (!this.#conn.canSend()) return Promise.reject(this.#unavailable(op));
    let args: (string | number)[];
    try {
      args = this.#args(tag, calls);
    } catch (err) {
      return Promise.reject(this.#error(op, err));
    }
    this.#corkUntilIdle();
    return this.#script(fns, op === 'take' ? 'Take' : 'Refund', lua, calls.length).apply(this.#conn.client, args);
  }

  /**
   * Holds the socket's writes until the event loop has handled every request that arrived together, then sends them
   * in one writev: a write per decision was the largest single cost of a Global limit (a syscall each). ioredis's
   * autopipelining does the same per tick at a higher JS cost, and a tick ends after each socket's data, so it
   * batched little. One Redis only (a Cluster keeps autopipelining).
   */
  #corkUntilIdle(): void {
    if (this.#corked) return;
    const stream = (this.#conn.client as { stream?: { cork?: () => void; uncork?: () => void } }).stream;
    if (this.#conn.isCluster || stream?.cork === undefined) return;
    stream.cork();
    this.#corked = true;
    setImmediate(() => {
      this.#corked = false;
      stream.uncork?.();
    });
  }

  /** KEYS then ARGV, flat: ioredis prepends the key count. */
  #args(tag: string, calls: readonly LimitCall[]): (string | number)[] {
    const prefix = this.#prefix(tag);
    const args: (string | number)[] = [];
    for (let i = 0; i < calls.length; i++) args.push(keyOf(prefix, calls[i] as LimitCall));
    args.push(Date.now());
    for (let i = 0; i < calls.length; i++) {
      const call = calls[i] as LimitCall;
      if (call.window === undefined) args.push('b', call.rule.rate, call.rule.periodMs, call.rule.burst);
      else args.push('q', call.rule.limit, call.window.endMs, 0);
    }
    return args;
  }

  #prefix(tag: string): string {
    let prefix = this.#prefixes.get(tag);
    if (prefix === undefined) {
      prefix = prefixOf(tag);
      // Policy ids are few; the bound only guards against a caller passing something unbounded.
      if (this.#prefixes.size >= MAX_CACHED_PREFIXES) this.#prefixes.clear();
      this.#prefixes.set(tag, prefix);
    }
    return prefix;
  }

  /**
   * The script command for `n` keys (EVALSHA, EVAL when the server lacks it). One command per key count, so that the
   * first argument is a key: with autopipelining on a Cluster, ioredis groups a custom command by its first argument
   * (with a variable key count, the count itself), and takes for different slots would share a pipeline the Cluster
   * refuses. Autopipelining is off now, but this keeps it safe to turn on. All share one source: one cached script.
   */
  #script(cache: (ScriptFn | undefined)[], kind: string, lua: string, n: number): ScriptFn {
    let fn = cache[n];
    if (fn === undefined) {
      const name = `gatehouseRateLimit${kind}${n}`;
      const client = this.#conn.client;
      client.defineCommand(name, { lua, numberOfKeys: n });
      fn = (client as unknown as Record<string, ScriptFn>)[name] as ScriptFn;
      cache[n] = fn;
    }
    return fn;
  }

  #unavailable(op: string): RedisLimitError {
    const last = this.#conn.lastError();
    return new RedisLimitError('unavailable', `redis rate-limit ${op}: redis is ${this.#conn.status()}${last ? ` (${last})` : ''}`);
  }

  #error(op: string, err: unknown): RedisLimitError {
    if (err instanceof RedisLimitError) return err;
    const message = this.#conn.redact(err instanceof Error ? err.message : String(err));
    if (message === 'Command timed out') return new RedisLimitError('timeout', `redis rate-limit ${op}: no answer within the command timeout`);
    if (
      message.startsWith("Stream isn't writeable") ||
      message.startsWith('Connection is closed') ||
      message.startsWith('Reached the max retries per request limit') ||
      message.startsWith("Cluster isn't ready") ||
      message.startsWith('CLUSTERDOWN') ||
      message.startsWith('Too many Cluster redirections')
    ) {
      const last = this.#conn.lastError();
      return new RedisLimitError('unavailable', `redis rate-limit ${op}: ${message}${last ? ` (${last})` : ''}`);
    }
    return new RedisLimitError('error', `redis rate-limit ${op}: ${message}`);
  }
}
