// What the rate-limit cases need besides the gateway: their RatePolicies (table entries, as the controller compiles
// a RatePolicy: controller/compile/rate-policy-compiler.ts), and for the Global ones a redis-server the bench starts
// itself on a free loopback port, pinned like the upstream, stopped by its pid with the other children, and read
// (INFO) around each measurement to count the commands it served.
import { Redis } from 'ioredis';
import type { TableLimit, TableRatePolicy } from '../proxy/table/table-schema.ts';
import { startProcess, type Started } from './child-processes.ts';
import { freePort, waitForPort, LOOPBACK } from './ports.ts';

/**
 * Rate of the limits that must never refuse: 10,000,000 per second with a burst as large, hundreds of times what one
 * gateway core serves, so every measured request is admitted and goes upstream.
 */
export const NEVER_REACHED_RATE = 10_000_000;

function bucketLimit(scope: TableLimit['scope'], rate: number, periodMs: number, burst: number): TableLimit {
  // The RatePolicy defaults: failureMode Open; key ClientIP (every bench request comes from 127.0.0.1: one counter).
  return { name: 'per-ip', key: [{ type: 'clientIp' }], scope, failureMode: 'open', rule: { kind: 'tokenBucket', rate, periodMs, burst } };
}

function policy(name: string, limit: TableLimit): TableRatePolicy {
  // responseHeaders Always (the default): every answer carries RateLimit-Policy and RateLimit.
  return { id: `bench/${name}`, limits: [limit], plans: [], headers: 'always' };
}

/** `limits: local`: a Local token bucket per client IP, never reached. */
export const LOCAL_POLICY = policy('limits-local', bucketLimit('local', NEVER_REACHED_RATE, 1_000, NEVER_REACHED_RATE));
/** `limits: global`: the same bucket, Global: one Redis script per request. */
export const GLOBAL_POLICY = policy('limits-global', bucketLimit('global', NEVER_REACHED_RATE, 1_000, NEVER_REACHED_RATE));
/**
 * `limits: global pre-check`: a Global bucket of 1 per hour, burst 1. The preflight spends the token (200) and gets
 * the first refusal from Redis (429); the proxy then remembers the refusal until the next token, an hour away, and
 * answers every measured request 429 itself.
 */
export const PRECHECK_POLICY = policy('limits-global-precheck', bucketLimit('global', 1, 3_600_000, 1));

/** Redis's own counts: all commands, and script runs (EVAL/EVALSHA and their _RO forms, FCALL). */
export interface RedisCommandCounts {
  commands: number;
  scripts: number;
}

export const NO_REDIS_COUNTS: RedisCommandCounts = { commands: 0, scripts: 0 };

/** Commands one stats() call sends (INFO stats, INFO commandstats): the next reading counts them. */
const STATS_COMMANDS = 2;
const SCRIPT_COMMANDS = new Set(['eval', 'evalsha', 'eval_ro', 'evalsha_ro', 'fcall', 'fcall_ro']);

export interface RedisFixture {
  url: string;
  port: number;
  process: Started;
  /** redis_version from INFO server. */
  version: string;
  stats: () => Promise<RedisCommandCounts>;
  /** Closes the bench's own connection (the server is a child: stopAll stops it by pid). */
  disconnect: () => void;
}

function infoFields(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) fields.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  return fields;
}

/**
 * redis-server on a free loopback port, no persistence, its files in `dir`, pinned to `cpu` (the load side: Redis
 * belongs to the rest of the world, like the upstream, not to the proxy's core). Resolves once it answers INFO.
 */
export async function startRedis(dir: string, cpu: number | null): Promise<RedisFixture> {
  const port = await freePort();
  const args = ['--port', String(port), '--bind', LOOPBACK, '--save', '', '--appendonly', 'no', '--dir', dir, '--loglevel', 'warning'];
  const started = startProcess('redis-server', 'redis-server', args, cpu);
  await waitForPort(port, started);
  // maxRetriesPerRequest 1 and no reconnect after disconnect(): a stats read fails instead of hanging.
  const client = new Redis({ host: LOOPBACK, port, maxRetriesPerRequest: 1, lazyConnect: true });
  let lastError = '';
  client.on('error', (err: Error) => {
    lastError = err.message;
  });
  try {
    await client.connect();
  } catch (err) {
    client.disconnect();
    throw new Error(`redis-server on ${port}: ${err instanceof Error ? err.message : String(err)} ${lastError}\n${started.output()}`, { cause: err });
  }
  const version = infoFields(await client.info('server')).get('redis_version') ?? 'unknown';
  const stats = async (): Promise<RedisCommandCounts> => {
    const total = Number(infoFields(await client.info('stats')).get('total_commands_processed'));
    let scripts = 0;
    // cmdstat_evalsha:calls=123,usec=…
    for (const [name, value] of infoFields(await client.info('commandstats'))) {
      const command = name.replace(/^cmdstat_/, '');
      if (SCRIPT_COMMANDS.has(command)) scripts += Number(/calls=(\d+)/.exec(value)?.[1] ?? 0);
    }
    if (!Number.isFinite(total)) throw new Error('redis INFO stats has no total_commands_processed');
    return { commands: total, scripts };
  };
  return { url: `redis://${LOOPBACK}:${port}`, port, process: started, version, stats, disconnect: () => client.disconnect() };
}

/** What Redis served between two readings, without the readings' own INFO commands. */
export function redisBetween(before: RedisCommandCounts, after: RedisCommandCounts): RedisCommandCounts {
  return { commands: Math.max(0, after.commands - before.commands - STATS_COMMANDS), scripts: after.scripts - before.scripts };
}

export function addRedisCounts(a: RedisCommandCounts, b: RedisCommandCounts): RedisCommandCounts {
  return { commands: a.commands + b.commands, scripts: a.scripts + b.scripts };
}
