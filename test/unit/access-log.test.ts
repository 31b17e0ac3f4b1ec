// The access-log line written by hand (proxy/server/request-log.ts) is the line pino would write for the same
// entry, and loggers pino must shape (a log formatter, redaction, a mixin) get it through pino. Also traceparent
// parsing (proxy/forward/trace-context.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type LoggerOptions } from 'pino';
import { AccessLog, type AccessLogLine } from '../../proxy/server/request-log.ts';
import { nextTraceparent, traceIdOf, validTraceparent } from '../../proxy/forward/trace-context.ts';

const TRACE = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

function capture(options: LoggerOptions): { log: AccessLog; raw: string[] } {
  const raw: string[] = [];
  const logger = pino({ level: 'info', ...options }, { write: (line: string) => void raw.push(line) }).child({ component: 'proxy' });
  return { log: new AccessLog(logger), raw };
}

const entries: AccessLogLine[] = [
  {
    requestId: 'r-1',
    method: 'POST',
    path: '/a/"quoted"\\/\u00e9',
    route: 'ns/route/r0/m0',
    status: 200,
    traceparent: TRACE,
    consumer: 'alice "the" consumer',
    upstream: '10.0.0.1:8080',
    upstreamMs: 1.23456,
    bytesIn: 12,
    bytesOut: 3456,
    error: null,
  },
  { requestId: 'r-2', method: 'GET', path: '/x', route: '(none)', status: 404, traceparent: TRACE, consumer: null, upstream: null, upstreamMs: -1, bytesIn: 0, bytesOut: 40, error: 'no route' },
  { requestId: 'r-3', method: 'GET', path: '/y', route: 'r', status: 502, traceparent: TRACE, consumer: null, upstream: '10.0.0.2:80', upstreamMs: -1, bytesIn: 0, bytesOut: 50, error: 'ECONNREFUSED' },
];

test('the hand-built line parses to what pino writes for the same entry, key order included', () => {
  const fast = capture({});
  // A log formatter makes the access log go through pino's own serialisation.
  const slow = capture({ formatters: { log: (o) => ({ ...o }) } });
  assert.equal(fast.log.direct, true);
  assert.equal(slow.log.direct, false);
  for (const e of entries) {
    fast.log.write(e, performance.now());
    slow.log.write(e, performance.now());
  }
  assert.equal(fast.raw.length, 3);
  for (let i = 0; i < 3; i++) {
    const a = JSON.parse(fast.raw[i] as string) as Record<string, unknown>;
    const b = JSON.parse(slow.raw[i] as string) as Record<string, unknown>;
    assert.ok(fast.raw[i]?.endsWith('}\n'));
    assert.equal(typeof a.time, 'number');
    assert.equal(typeof a.ms, 'number');
    a.time = b.time = 0;
    a.ms = b.ms = 0;
    assert.deepEqual(Object.keys(a), Object.keys(b));
    assert.deepEqual(a, b);
  }
  const first = JSON.parse(fast.raw[0] as string) as Record<string, unknown>;
  assert.equal(first.path, entries[0]?.path);
  assert.equal(first.upstreamMs, 1.235);
  assert.equal(first.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
  assert.equal(first.level, 30);
  assert.equal(JSON.parse(fast.raw[2] as string).level, 40, '5xx lines are warn');
});

test('redaction and custom level labels are honoured (through pino, or in the prefix)', () => {
  const redacted = capture({ redact: ['consumer'] });
  assert.equal(redacted.log.direct, false);
  redacted.log.write(entries[0] as AccessLogLine, performance.now());
  assert.equal(JSON.parse(redacted.raw[0] as string).consumer, '[Redacted]');
  const labels = capture({ formatters: { level: (label) => ({ severity: label.toUpperCase() }) } });
  labels.log.write(entries[2] as AccessLogLine, performance.now());
  assert.equal(JSON.parse(labels.raw[0] as string).severity, 'WARN');
});

test('levels and sampling: 5xx at warn, the rest at info; errors always, successes sampled', () => {
  const logger = pino({ level: 'warn' }, { write: () => {} });
  const log = new AccessLog(logger, { sample: 1 });
  assert.equal(log.wants(200), false);
  assert.equal(log.wants(404), false);
  assert.equal(log.wants(502), true);
  logger.level = 'info';
  assert.equal(log.wants(200), true);
  const none = new AccessLog(logger, { sample: 0 });
  assert.equal(none.wants(200), false);
  assert.equal(none.wants(304), false);
  assert.equal(none.wants(400), true);
  assert.equal(none.wants(499), true);
  assert.equal(none.wants(500), true);
  assert.throws(() => new AccessLog(logger, { sample: 1.5 }));
  assert.throws(() => new AccessLog(logger, { sample: Number.NaN }));
});

test('traceparent: valid version 00 only, continued with a new parent id, else a new sampled trace', () => {
  assert.equal(validTraceparent(TRACE), TRACE);
  for (const bad of [undefined, [TRACE, TRACE], '', TRACE.toUpperCase(), `${TRACE}-`, TRACE.replace('00-', '01-'), TRACE.replace('4bf92f3577b34da6a3ce929d0e0e4736', '0'.repeat(32))]) {
    assert.equal(validTraceparent(bad), null, String(bad));
  }
  const ids = new Set<string>();
  for (let i = 0; i < 5_000; i++) {
    const next = nextTraceparent(TRACE);
    assert.match(next, /^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
    ids.add(next.slice(36, 52));
    const fresh = nextTraceparent(undefined);
    assert.equal(validTraceparent(fresh), fresh);
    assert.ok(fresh.endsWith('-01'));
    ids.add(traceIdOf(fresh));
  }
  assert.equal(ids.size, 10_000, 'no id repeats (the pool is refilled, never reused)');
});

test('to a pino destination, lines are held and written together within 10 ms', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'access-log-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'out.log');
  const dest = pino.destination({ dest: file, sync: true });
  const writes: string[] = [];
  const write = dest.write.bind(dest);
  dest.write = (data: string): boolean => {
    writes.push(data);
    return write(data);
  };
  const log = new AccessLog(pino({ level: 'info' }, dest));
  for (const e of entries) log.write(e, performance.now());
  assert.equal(writes.length, 0, 'held');
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(writes.length, 1);
  const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
  assert.deepEqual(
    lines.map((l) => (JSON.parse(l) as { requestId: string }).requestId),
    ['r-1', 'r-2', 'r-3'],
  );
  log.write(entries[0] as AccessLogLine, performance.now());
  log.flush();
  assert.equal(writes.length, 2, 'flush() writes at once');
});

test('lines held when the process exits are written (default asynchronous destination)', () => {
  const script = `
    import { pino } from 'pino';
    import { AccessLog } from ${JSON.stringify(join(import.meta.dirname, '../../proxy/server/request-log.ts'))};
    const log = new AccessLog(pino({ level: 'info' }));
    const e = ${JSON.stringify(entries[1])};
    for (let i = 0; i < 1000; i++) log.write({ ...e, requestId: 'r' + i }, performance.now());
    process.exit(0);
  `;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: join(import.meta.dirname, '../..'), encoding: 'utf8' });
  const ids = out
    .trimEnd()
    .split('\n')
    .map((l) => (JSON.parse(l) as { requestId: string }).requestId);
  assert.equal(ids.length, 1000);
  assert.equal(ids[999], 'r999');
});
