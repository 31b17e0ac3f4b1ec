// The access log: one JSON line per request — what was asked, where it went, how it ended. Never headers or the
// query string (they carry credentials); the path is logged without its query. See docs/access-log.md.
//
// Written by hand rather than through pino's log methods: pino's generic serialisation of an entry object costs
// several microseconds per line, a sizeable share of a proxied request. The line is still pino's: its level and time
// prefix, the logger's bindings (pid, hostname, component), `msg`, and pino's destination stream. Loggers whose output
// pino would shape (a mixin, a log formatter, redaction, hooks, a multistream's metadata) get the entry through pino.
//
// Batched: to a pino destination (sonic-boom, what pino() writes to by default) lines are held up to FLUSH_MS (or
// MAX_BATCH characters) and written in one write; they are written at close and at exit too. Per-write costs in
// sonic-boom and fs.write were most of the access log's cost (profiles of `npm run bench`: logging took 14% of the
// gateway's CPU with a line per write, 11% with one write per event-loop turn, 8% with a write per 10 ms).
// Other streams get one write per line, as pino does.
import { pino, type Logger } from 'pino';

export interface AccessLogOptions {
  /**
   * Share of requests answered below 400 that are logged, 0 to 1 (default 1: every request). Requests answered 400
   * or above are always logged (at the logger's level: 5xx lines are warn, the rest info).
   */
  sample?: number;
}

const INFO = 30;
const WARN = 40;

/** Fields one logs an exchange with; built per logged request only, never kept. */
export interface AccessLogLine {
  requestId: string;
  method: string;
  path: string;
  route: string;
  status: number;
  /** The traceparent the request was forwarded (or would have been) with; its trace id is logged. */
  traceparent: string;
  consumer: string | null;
  upstream: string | null;
  /** Dispatch to upstream response headers, ms; negative when there were none. */
  upstreamMs: number;
  bytesIn: number;
  bytesOut: number;
  error: string | null;
}

interface PinoInternals {
  [key: symbol]: unknown;
}

export class AccessLog {
  readonly #logger: Logger;
  readonly #sample: number;
  /** null: pino shapes the output, hand the entry to it. */
  readonly #stream: { write(line: string): unknown } | null = null;
  readonly #time: () => string = () => '';
  readonly #info: string = '';
  readonly #warn: string = '';
  readonly #bindings: string = '';
  readonly #end: string = '';
  /** Whether the stream takes several lines in one write (sonic-boom). */
  readonly #batch: boolean = false;
  #pending = '';

  constructor(logger: Logger, options: AccessLogOptions = {}) {
    const sample = options.sample ?? 1;
    if (!(sample >= 0 && sample <= 1)) throw new Error(`access log sample must be between 0 and 1, got ${sample}`);
    this.#logger = logger;
    this.#sample = sample;
    const l = logger as unknown as PinoInternals;
    const s = pino.symbols;
    const stream = l[s.streamSym] as { write?: unknown; [key: symbol]: unknown } | undefined;
    const formatters = l[s.formattersSym] as { log?: (o: object) => object } | undefined;
    const hooks = l[s.hooksSym] as { logMethod?: unknown; streamWrite?: unknown } | undefined;
    const stringifiers = l[s.stringifiersSym] as object | undefined;
    const serializers = l[s.serializersSym] as object | undefined;
    const levels = l[s.lsCacheSym] as Record<number, string | undefined> | undefined;
    const info = levels?.[INFO];
    const warn = levels?.[WARN];
    const probe = {};
    const plain =
      stream !== undefined &&
      typeof stream.write === 'function' &&
      stream[s.needsMetadataGsym] !== true &&
      typeof l[s.timeSym] === 'function' &&
      typeof l[s.chindingsSym] === 'string' &&
      typeof l[s.endSym] === 'string' &&
      l[s.messageKeySym] === 'msg' &&
      !l[s.mixinSym] &&
      !l[s.nestedKeySym] &&
      !l[(s as unknown as Record<string, symbol>).msgPrefixSym ?? NONE] &&
      (formatters?.log === undefined || formatters.log(probe) === probe) &&
      hooks?.logMethod === undefined &&
      hooks?.streamWrite === undefined &&
      stringifiers !== undefined &&
      !names(stringifiers, null) &&
      Object.getOwnPropertySymbols(stringifiers).length === 0 &&
      serializers !== undefined &&
      !names(serializers, ENTRY_KEYS) &&
      info !== undefined &&
      warn !== undefined;
    if (!plain) return;
    this.#stream = stream as { write(line: string): unknown };
    const time = l[s.timeSym] as () => string;
    this.#time = time;
    this.#info = info;
    this.#warn = warn;
    this.#bindings = l[s.chindingsSym] as string;
    this.#end = l[s.endSym] as string;
    this.#batch = typeof (stream as { flushSync?: unknown }).flushSync === 'function' && 'minLength' in stream;
  }

  /** Whether lines are built here (true) or handed to pino's log methods. */
  get direct(): boolean {
    return this.#stream !== null;
  }

  /** Writes the lines held now; `sync`: and has the destination write them before returning (at exit). */
  flush(sync = false): void {
    const pending = this.#pending;
    const stream = this.#stream;
    if (pending === '' || stream === null) return;
    this.#pending = '';
    batched.delete(this);
    stream.write(pending);
    if (!sync) return;
    try {
      (stream as unknown as { flushSync(): void }).flushSync();
    } catch {
      // A destination busy with an asynchronous write, or already closed: nothing more can be done at exit.
    }
  }

  /** Whether a request answered with `status` is logged: the logger's level, then sampling for answers below 400. */
  wants(status: number): boolean {
    const level = this.#logger.levelVal;
    if (status >= 500) return level <= WARN;
    if (level > INFO) return false;
    if (status >= 400) return true;
    const sample = this.#sample;
    return sample >= 1 || (sample > 0 && Math.random() < sample);
  }

  /**
   * One line; `ms` from `startedAt` to `endedAt` (performance.now() values; the end defaults to now, a caller that
   * read the clock already passes it). Call only when wants(status).
   */
  write(e: AccessLogLine, startedAt: number, endedAt = performance.now()): void {
    const ms = round(endedAt - startedAt);
    const stream = this.#stream;
    if (stream === null) {
      this.#viaPino(e, ms);
      return;
    }
    // Strings from the client or the table are JSON-encoded; the request id (request-id.ts keeps only
    // [A-Za-z0-9._:+/=-]), the method (Node's parser accepts only known methods) and the trace id (hex) need not be.
    let line =
      `${e.status >= 500 ? this.#warn : this.#info}${this.#time()}${this.#bindings},"requestId":"${e.requestId}","traceId":"${e.traceparent.slice(3, 35)}"` +
      `,"method":"${e.method}","path":${JSON.stringify(e.path)},"route":${JSON.stringify(e.route)},"status":${e.status},"ms":${ms}`;
    if (e.upstreamMs >= 0) line += `,"upstreamMs":${round(e.upstreamMs)}`;
    line += `,"bytesIn":${e.bytesIn},"bytesOut":${e.bytesOut}`;
    if (e.upstream !== null) line += `,"upstream":${JSON.stringify(e.upstream)}`;
    if (e.consumer !== null) line += `,"consumer":${JSON.stringify(e.consumer)}`;
    if (e.error !== null) line += `,"error":${JSON.stringify(e.error)}`;
    line += `,"msg":"request"${this.#end}`;
    if (!this.#batch) {
      stream.write(line);
      return;
    }
    if (this.#pending === '') {
      batched.add(this);
      if (!flushScheduled) {
        flushScheduled = true;
        setTimeout(flushAll, FLUSH_MS).unref();
      }
    }
    this.#pending += line;
    if (this.#pending.length >= MAX_BATCH) this.flush();
  }

  #viaPino(e: AccessLogLine, ms: number): void {
    const entry: Record<string, string | number> = {
      requestId: e.requestId,
      traceId: e.traceparent.slice(3, 35),
      method: e.method,
      path: e.path,
      route: e.route,
      status: e.status,
      ms,
    };
    if (e.upstreamMs >= 0) entry.upstreamMs = round(e.upstreamMs);
    entry.bytesIn = e.bytesIn;
    entry.bytesOut = e.bytesOut;
    if (e.upstream !== null) entry.upstream = e.upstream;
    if (e.consumer !== null) entry.consumer = e.consumer;
    if (e.error !== null) entry.error = e.error;
    if (e.status >= 500) this.#logger.warn(entry, 'request');
    else this.#logger.info(entry, 'request');
  }
}

const NONE = Symbol('none');
/** Lines are written at most this long after the first one held… */
const FLUSH_MS = 10;
/** …or once this many characters are held. */
const MAX_BATCH = 64 * 1024;

/** Access logs holding lines, written by the FLUSH_MS timer, at close or at exit. */
const batched = new Set<AccessLog>();
let flushScheduled = false;

function flushAll(): void {
  flushScheduled = false;
  for (const log of batched) log.flush();
}

// Runs after pino's own exit flush (the logger existed first), so write the held lines and flush the destination again.
process.on('exit', () => {
  for (const log of batched) log.flush(true);
});
const ENTRY_KEYS = new Set(['requestId', 'traceId', 'method', 'path', 'route', 'status', 'ms', 'upstreamMs', 'bytesIn', 'bytesOut', 'upstream', 'consumer', 'error', 'msg']);

/** Whether `o` (own or inherited, as pino's child loggers inherit) has a key, or one of `keys`. */
function names(o: object, keys: ReadonlySet<string> | null): boolean {
  for (const key in o) if (keys === null || keys.has(key)) return true;
  return false;
}

/** Milliseconds to the microsecond. */
function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
