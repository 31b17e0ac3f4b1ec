// `npm run bench:websocket`: WebSocket forwarding. (1) 1 KB message throughput, directly to a `ws` echo upstream and
// through the gateway (piped rule, and parsed rule with maxMessageSize), rounds interleaved, ratios against direct in
// the same run, and messages per CPU-second of the gateway. (2) Memory per idle connection: N WebSockets opened
// through the gateway's piped rule and held, (RSS held − RSS before) / N for the gateway and the upstream, and the
// gateway's RSS and connection count after they close. The gateway runs on CPU 0; the upstream and the clients on
// CPU 1. See bench/README.md.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, cpus, release, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { request } from 'undici';
import { killChildrenOnExit, startProcess, stopAll, type Started } from './child-processes.ts';
import { freePort, waitForPort, LOOPBACK } from './ports.ts';
import { cpuSeconds, machineBusy } from './cpu-time.ts';
import { writeResultFiles } from './results-file.ts';
import { PARSED_MAX_MESSAGE_BYTES, PARSED_PATH, PLAIN_PATH, websocketTable } from './websocket-tables.ts';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '50' },
    window: { type: 'string', default: '16' },
    size: { type: 'string', default: '1024' },
    'idle-connections': { type: 'string', default: '10000' },
    cases: { type: 'string', default: 'direct,gateway-plain,gateway-parsed' },
    'skip-throughput': { type: 'boolean', default: false },
    'skip-idle': { type: 'boolean', default: false },
    'gateway-log-level': { type: 'string', default: 'info' },
    out: { type: 'string', default: join(import.meta.dirname, 'results') },
    'no-save': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  console.log(`usage: node bench/websocket.ts [options]   (npm run bench:websocket)

WebSocket forwarding: 1 KB message throughput directly to a ws echo upstream and through the gateway (piped rule;
parsed rule with maxMessageSize 64Ki), and RSS per idle connection through the gateway. Gateway on CPU 0, upstream
and clients on CPU 1. Targets: gateway-plain ≥ 0.8× direct; < 20 KB RSS per idle connection (gateway).

options:
  --duration S            seconds measured per case and round (default 10)
  --warmup S              seconds of load before each measurement (default 3)
  --rounds N              rounds over the three cases, order rotated each round (default 3)
  --connections N         client connections for throughput (default 50)
  --window N              messages in flight per connection (default 16)
  --size BYTES            message size (default 1024; binary)
  --cases LIST            throughput cases, comma-separated (default direct,gateway-plain,gateway-parsed;
                          ratios need direct)
  --idle-connections N    idle connections held through the gateway (default 10000; capped by the gateway's
                          open-file limit, which needs two descriptors per connection)
  --skip-throughput       only the idle-connection measurement
  --skip-idle             only the throughput measurement
  --gateway-log-level L   the gateway's pino level (default info, as shipped; the log goes to a file)
  --out DIR               where results are written (default bench/results)
  --no-save               do not write results
  -h, --help              this text`);
  process.exit(0);
}

const params = {
  durationSec: Number(values.duration),
  warmupSec: Number(values.warmup),
  rounds: Number(values.rounds),
  connections: Number(values.connections),
  window: Number(values.window),
  messageBytes: Number(values.size),
  idleConnectionsRequested: Number(values['idle-connections']),
  gatewayLogLevel: values['gateway-log-level'],
  parsedMaxMessageBytes: PARSED_MAX_MESSAGE_BYTES,
};
for (const [k, v] of Object.entries(params)) if (typeof v === 'number' && !(Number.isInteger(v) && v >= 0)) throw new Error(`--${k}: not a whole number`);
if (cpus().length < 2) throw new Error('needs two CPUs (the gateway on CPU 0, the load on CPU 1)');

const PROXY_CPU = 0;
const LOAD_CPU = 1;
const CASES = ['direct', 'gateway-plain', 'gateway-parsed'] as const;
type CaseName = (typeof CASES)[number];
const selected = values.cases.split(',').map((c) => c.trim()) as CaseName[];
for (const c of selected) if (!CASES.includes(c)) throw new Error(`--cases: unknown case ${c} (cases: ${CASES.join(', ')})`);
const require = createRequire(import.meta.url);
const wsVersion = (require('ws/package.json') as { version: string }).version;

killChildrenOnExit();
const tmpDir = mkdtempSync(join(tmpdir(), 'gatehouse-wsbench-'));

// ---- /proc readings ----
function rssKiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (m === null) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]);
}
function openFileLimit(pid: number): number {
  const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'));
  return m === null || m[1] === 'unlimited' ? Number.POSITIVE_INFINITY : Number(m[1]);
}
/** Per-CPU jiffies (busy, total, steal) from /proc/stat: what the cores did during a measurement, ours or not. */
function cpuJiffies(): { busy: number; total: number; steal: number }[] {
  return readFileSync('/proc/stat', 'utf8')
    .split('\n')
    .filter((l) => /^cpu\d+ /.test(l))
    .map((l) => {
      const f = l.trim().split(/\s+/).slice(1).map(Number);
      const total = f.reduce((a, b) => a + b, 0);
      return { busy: total - (f[3] ?? 0) - (f[4] ?? 0), total, steal: f[7] ?? 0 };
    });
}
function coreBusy(a: ReturnType<typeof cpuJiffies>, b: ReturnType<typeof cpuJiffies>, cpu: number): number {
  const x = a[cpu];
  const y = b[cpu];
  if (x === undefined || y === undefined || y.total === x.total) return 0;
  return Math.round(((y.busy - x.busy) / (y.total - x.total)) * 100) / 100;
}
const pidOf = (p: Started): number => {
  if (p.child.pid === undefined) throw new Error(`${p.name} has no pid`);
  return p.child.pid;
};

/** The sum of a metric's series on the gateway's admin port (`name{…} value` and `name value` lines). */
async function gatewayMetric(adminPort: number, name: string): Promise<number> {
  const res = await request(`http://${LOOPBACK}:${adminPort}/metrics`);
  const text = await res.body.text();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
}
const openWebSockets = (adminPort: number): Promise<number> => gatewayMetric(adminPort, 'gatehouse_websocket_connections');

/** Where the gateway's memory is, from its own default metrics: V8 heap used/total and external (Buffers), in KiB. */
async function gatewayHeap(adminPort: number): Promise<{ heapUsedKiB: number; heapTotalKiB: number; externalKiB: number }> {
  const kib = async (name: string): Promise<number> => Math.round((await gatewayMetric(adminPort, name)) / 1024);
  return { heapUsedKiB: await kib('nodejs_heap_size_used_bytes'), heapTotalKiB: await kib('nodejs_heap_size_total_bytes'), externalKiB: await kib('nodejs_external_memory_bytes') };
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(200);
  }
  throw new Error(`${what}: not within ${timeoutMs} ms`);
}

/** JSON lines a child prints on stdout, awaited one phase at a time (bounded). */
function jsonLines(p: Started): (phase: string, timeoutMs: number) => Promise<Record<string, unknown>> {
  const seen: Record<string, unknown>[] = [];
  const waiters: (() => void)[] = [];
  let buffered = '';
  p.child.stdout?.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    let nl;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (line.startsWith('{')) seen.push(JSON.parse(line) as Record<string, unknown>);
      for (const w of waiters.splice(0)) w();
    }
  });
  p.child.once('exit', () => {
    for (const w of waiters.splice(0)) w();
  });
  return async (phase, timeoutMs) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = seen.find((l) => l.phase === phase);
      if (hit !== undefined) return hit;
      if (p.child.exitCode !== null || p.child.signalCode !== null) throw new Error(`${p.name} exited before "${phase}":\n${p.output()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${p.name}: no "${phase}" within ${timeoutMs} ms:\n${p.output()}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 1000));
        waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  };
}

// ---- preflight: every path echoes; the parsed rule enforces its limit (so it really is parsed) ----
function roundTrip(url: string, message: Buffer, timeoutMs = 10_000): Promise<{ echoed: boolean; closeCode: number | null }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`${url}: no echo or close within ${timeoutMs} ms`));
    }, timeoutMs);
    let echoed = false;
    ws.once('open', () => ws.send(message, { binary: true }));
    ws.once('message', (data: Buffer) => {
      echoed = data.equals(message);
      ws.close(1000);
    });
    ws.once('close', (code) => {
      clearTimeout(timer);
      resolve({ echoed, closeCode: code });
    });
    ws.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

async function preflight(urls: Record<CaseName, string>): Promise<void> {
  const small = Buffer.alloc(params.messageBytes, 7);
  for (const name of CASES) {
    const r = await roundTrip(urls[name], small);
    if (!r.echoed) throw new Error(`${name}: the ${params.messageBytes}-byte message did not come back intact`);
  }
  const big = Buffer.alloc(PARSED_MAX_MESSAGE_BYTES + 1, 7);
  const plain = await roundTrip(urls['gateway-plain'], big);
  if (!plain.echoed) throw new Error('gateway-plain did not echo a message over the parsed rule\'s limit (it has no limit)');
  const parsed = await roundTrip(urls['gateway-parsed'], big);
  if (parsed.echoed || parsed.closeCode !== 1009) throw new Error(`gateway-parsed: a message over maxMessageSize got ${JSON.stringify(parsed)}, expected close 1009 (is the rule parsed?)`);
}

// ---- throughput ----
interface Measurement {
  case: CaseName;
  round: number;
  messagesPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  gatewayCpuSeconds: number | null;
  gatewayCpuShare: number | null;
  messagesPerGatewayCpuSecond: number | null;
  upstreamCpuSeconds: number;
  /** The load generator's share of a core, and how busy CPU 0 / CPU 1 were in all (ours and anything else on the machine). */
  loadGeneratorCpuShare: number;
  proxyCoreBusy: number;
  loadCoreBusy: number;
  errors: number;
  unexpectedCloses: number;
  badEchoes: number;
  lost: number;
}

async function measure(name: CaseName, round: number, url: string, gatewayPid: number, upstreamPid: number): Promise<Measurement> {
  const entry = join(import.meta.dirname, 'websocket-load.ts');
  const args = [entry, '--url', url, '--connections', String(params.connections), '--window', String(params.window), '--size', String(params.messageBytes), '--warmup', String(params.warmupSec), '--duration', String(params.durationSec)];
  const load = startProcess(`load-${name}`, process.execPath, args, LOAD_CPU);
  const next = jsonLines(load);
  await next('measure', 20_000 + params.warmupSec * 1000);
  const gw0 = cpuSeconds(gatewayPid);
  const up0 = cpuSeconds(upstreamPid);
  const lg0 = cpuSeconds(pidOf(load));
  const j0 = cpuJiffies();
  const t0 = performance.now();
  await next('end', params.durationSec * 1000 + 10_000);
  const gw1 = cpuSeconds(gatewayPid);
  const up1 = cpuSeconds(upstreamPid);
  const lg1 = cpuSeconds(pidOf(load));
  const j1 = cpuJiffies();
  const wall = (performance.now() - t0) / 1000;
  const r = (await next('result', 30_000)) as { messages: number; messagesPerSecond: number; p50Ms: number; p99Ms: number; errors: number; unexpectedCloses: number; badEchoes: number; lost: number };
  const viaGateway = name !== 'direct';
  const gwCpu = gw1 - gw0;
  const m: Measurement = {
    case: name,
    round,
    messagesPerSecond: Math.round(r.messagesPerSecond),
    p50Ms: r.p50Ms,
    p99Ms: r.p99Ms,
    gatewayCpuSeconds: viaGateway ? gwCpu : null,
    gatewayCpuShare: viaGateway ? gwCpu / wall : null,
    messagesPerGatewayCpuSecond: viaGateway && gwCpu > 0 ? Math.round(r.messages / gwCpu) : null,
    upstreamCpuSeconds: up1 - up0,
    loadGeneratorCpuShare: Math.round(((lg1 - lg0) / wall) * 100) / 100,
    proxyCoreBusy: coreBusy(j0, j1, PROXY_CPU),
    loadCoreBusy: coreBusy(j0, j1, LOAD_CPU),
    errors: r.errors,
    unexpectedCloses: r.unexpectedCloses,
    badEchoes: r.badEchoes,
    lost: r.lost,
  };
  console.log(
    `round ${round} ${name.padEnd(15)} ${m.messagesPerSecond.toLocaleString('en').padStart(8)} msg/s  p50 ${m.p50Ms} ms  p99 ${m.p99Ms} ms` +
      (viaGateway ? `  gateway cpu ${Math.round((m.gatewayCpuShare ?? 0) * 100)}%  ${(m.messagesPerGatewayCpuSecond ?? 0).toLocaleString('en')} msg/cpu-s` : '') +
      `  upstream cpu ${Math.round(((up1 - up0) / wall) * 100)}%  load-gen cpu ${Math.round(m.loadGeneratorCpuShare * 100)}%  cores busy ${Math.round(m.proxyCoreBusy * 100)}%/${Math.round(m.loadCoreBusy * 100)}%` +
      (m.errors + m.unexpectedCloses + m.badEchoes + m.lost > 0 ? `  ERRORS ${JSON.stringify({ errors: m.errors, closes: m.unexpectedCloses, bad: m.badEchoes, lost: m.lost })}` : ''),
  );
  return m;
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

// ---- idle connections ----
async function idleConnections(url: string, count: number, gateway: Started, upstream: Started, adminPort: number) {
  const gwPid = pidOf(gateway);
  const upPid = pidOf(upstream);
  await waitFor('the gateway has no open WebSocket left from the preflight', async () => (await openWebSockets(adminPort)) === 0, 30_000);
  await sleep(3000);
  const before = { gatewayKiB: rssKiB(gwPid), upstreamKiB: rssKiB(upPid) };
  const heapBefore = await gatewayHeap(adminPort);
  // The same after a full collection in both (they run with --expose-gc; SIGUSR2 calls gc()): the live memory.
  const collect = async (): Promise<void> => {
    gateway.child.kill('SIGUSR2');
    upstream.child.kill('SIGUSR2');
    await sleep(2000);
  };
  await collect();
  const beforeGc = { gatewayKiB: rssKiB(gwPid), upstreamKiB: rssKiB(upPid), heap: await gatewayHeap(adminPort) };
  console.log(`idle: opening ${count.toLocaleString('en')} connections (gateway RSS ${before.gatewayKiB} KiB, upstream ${before.upstreamKiB} KiB)`);
  const entry = join(import.meta.dirname, 'websocket-idle-clients.ts');
  const clients = startProcess('idle-clients', process.execPath, [entry, '--url', url, '--connections', String(count), '--open-timeout', '180', '--hold', '300'], LOAD_CPU);
  const next = jsonLines(clients);
  const opened = (await next('open', 200_000)) as { opened: number; failed: number; firstError: string; ms: number };
  console.log(`idle: ${opened.opened} open, ${opened.failed} failed in ${opened.ms} ms${opened.failed > 0 ? ` (first: ${opened.firstError})` : ''}`);
  const gatewayOpen = await openWebSockets(adminPort);
  // Settle: no traffic; let the allocations of the handshakes be collected (the gateway cannot be told to GC).
  await sleep(5000);
  const held1 = { gatewayKiB: rssKiB(gwPid), upstreamKiB: rssKiB(upPid), clientKiB: rssKiB(pidOf(clients)) };
  await sleep(5000);
  const held2 = { gatewayKiB: rssKiB(gwPid), upstreamKiB: rssKiB(upPid), clientKiB: rssKiB(pidOf(clients)) };
  const gatewayOpenLater = await openWebSockets(adminPort);
  const heapHeld = await gatewayHeap(adminPort);
  await collect();
  const heldGc = { gatewayKiB: rssKiB(gwPid), upstreamKiB: rssKiB(upPid), heap: await gatewayHeap(adminPort) };
  const perConn = (a: number, b: number): number => Math.round(((b - a) * 1024) / opened.opened);
  const result = {
    requested: count,
    opened: opened.opened,
    failed: opened.failed,
    openMs: opened.ms,
    gatewayOpenWebSockets: gatewayOpen,
    gatewayOpenWebSocketsAfter10s: gatewayOpenLater,
    rssBeforeKiB: before,
    rssHeldKiB: [held1, held2],
    gatewayBytesPerConnection: perConn(before.gatewayKiB, held2.gatewayKiB),
    upstreamBytesPerConnection: perConn(before.upstreamKiB, held2.upstreamKiB),
    gatewayBytesPerConnectionFirstSample: perConn(before.gatewayKiB, held1.gatewayKiB),
    clientBytesPerConnection: Math.round((held2.clientKiB * 1024) / opened.opened),
    gatewayHeapKiB: { before: heapBefore, held: heapHeld },
    gatewayHeapUsedBytesPerConnection: perConn(heapBefore.heapUsedKiB, heapHeld.heapUsedKiB),
    gatewayExternalBytesPerConnection: perConn(heapBefore.externalKiB, heapHeld.externalKiB),
    afterFullGc: {
      before: beforeGc,
      held: heldGc,
      gatewayBytesPerConnection: perConn(beforeGc.gatewayKiB, heldGc.gatewayKiB),
      upstreamBytesPerConnection: perConn(beforeGc.upstreamKiB, heldGc.upstreamKiB),
      gatewayHeapUsedBytesPerConnection: perConn(beforeGc.heap.heapUsedKiB, heldGc.heap.heapUsedKiB),
    },
    closed: 0,
    closeMs: 0,
    gatewayOpenAfterClose: -1,
    rssAfterCloseKiB: { gatewayKiB: 0, upstreamKiB: 0 },
    rssAfterCloseGcKiB: { gatewayKiB: 0, upstreamKiB: 0 },
    /** The V8 heap after the close and a full GC: back near its size before means nothing per connection stayed. */
    gatewayHeapAfterCloseGcKiB: { heapUsedKiB: 0, heapTotalKiB: 0, externalKiB: 0 },
  };
  console.log(
    `idle: held ${opened.opened} (gateway counts ${gatewayOpen}): gateway RSS ${held1.gatewayKiB} → ${held2.gatewayKiB} KiB, ` +
      `${(result.gatewayBytesPerConnection / 1024).toFixed(1)} KiB/connection (V8 heap used ${(result.gatewayHeapUsedBytesPerConnection / 1024).toFixed(1)}, external ` +
      `${(result.gatewayExternalBytesPerConnection / 1024).toFixed(1)}); upstream ${(result.upstreamBytesPerConnection / 1024).toFixed(1)} KiB/connection`,
  );
  const g = result.afterFullGc;
  console.log(
    `idle: with a full GC before and after: gateway ${(g.gatewayBytesPerConnection / 1024).toFixed(1)} KiB/connection (V8 heap used ${(g.gatewayHeapUsedBytesPerConnection / 1024).toFixed(1)}), ` +
      `upstream ${(g.upstreamBytesPerConnection / 1024).toFixed(1)} KiB/connection`,
  );
  clients.child.kill('SIGUSR2');
  const closed = (await next('closed', 60_000)) as { closed: number; ms: number };
  result.closed = closed.closed;
  result.closeMs = closed.ms;
  await waitFor('the gateway forgets the closed connections', async () => (await openWebSockets(adminPort)) === 0, 30_000).catch((err: unknown) => console.error(`idle: ${String(err)}`));
  result.gatewayOpenAfterClose = await openWebSockets(adminPort);
  await sleep(5000);
  result.rssAfterCloseKiB = { gatewayKiB: rssKiB(gwPid), upstreamKiB: rssKiB(upPid) };
  await collect();
  result.rssAfterCloseGcKiB = { gatewayKiB: rssKiB(gwPid), upstreamKiB: rssKiB(upPid) };
  result.gatewayHeapAfterCloseGcKiB = await gatewayHeap(adminPort);
  console.log(
    `idle: closed ${closed.closed} in ${closed.ms} ms; gateway open ${result.gatewayOpenAfterClose}, RSS ${result.rssAfterCloseKiB.gatewayKiB} KiB 5 s later, ${result.rssAfterCloseGcKiB.gatewayKiB} KiB after a full GC (before: ${before.gatewayKiB}, ${beforeGc.gatewayKiB} after GC); ` +
      `V8 heap used ${result.gatewayHeapAfterCloseGcKiB.heapUsedKiB} KiB (before: ${beforeGc.heap.heapUsedKiB}), heap total ${result.gatewayHeapAfterCloseGcKiB.heapTotalKiB} KiB (before: ${beforeGc.heap.heapTotalKiB})`,
  );
  return result;
}

// ---- run ----
try {
  const busy = await machineBusy(1000);
  const loadBefore = loadavg();
  console.log(`machine: ${Math.round(busy * 100)}% busy over 1 s, load average ${loadBefore.map((l) => l.toFixed(2)).join(' ')}`);
  if (busy > 0.1) console.warn('warning: the machine is not idle; absolute numbers will be low, compare ratios');

  const upstreamPort = await freePort();
  const upstream = startProcess('ws-echo-upstream', process.execPath, ['--expose-gc', join(import.meta.dirname, 'websocket-echo-upstream.ts'), '--port', String(upstreamPort)], LOAD_CPU);
  await waitForPort(upstreamPort, upstream);

  const [port, adminPort] = [await freePort(), await freePort()];
  const tableFile = join(tmpDir, 'websocket-table.json');
  writeFileSync(tableFile, JSON.stringify(websocketTable(upstreamPort)));
  // --expose-gc: only so the idle measurement can ask for a full collection (SIGUSR2); the gateway is otherwise as shipped.
  const gatewayArgs = ['--expose-gc', join(import.meta.dirname, 'gateway-process.ts'), '--table', tableFile, '--port', String(port), '--admin-port', String(adminPort), '--log-level', params.gatewayLogLevel];
  const gateway = startProcess('gateway', process.execPath, gatewayArgs, PROXY_CPU, join(tmpDir, 'gateway.log'));
  await waitForPort(port, gateway);

  const urls: Record<CaseName, string> = {
    direct: `ws://${LOOPBACK}:${upstreamPort}${PLAIN_PATH}`,
    'gateway-plain': `ws://${LOOPBACK}:${port}${PLAIN_PATH}`,
    'gateway-parsed': `ws://${LOOPBACK}:${port}${PARSED_PATH}`,
  };
  await preflight(urls);
  console.log('preflight: all three echo; the parsed rule closes a 64 KiB + 1 message with 1009, the plain one echoes it');

  let idle = null;
  let idleCap = null;
  if (!values['skip-idle']) {
    // Two descriptors per proxied connection (client and upstream side), plus the listeners, log and Node's own.
    const limit = openFileLimit(pidOf(gateway));
    const fit = Math.floor((limit - 200) / 2);
    const count = Math.min(params.idleConnectionsRequested, fit);
    if (count < params.idleConnectionsRequested) {
      idleCap = `the gateway's open-file limit is ${limit} (hard limit; not raisable here), two per connection: ${count} connections instead of ${params.idleConnectionsRequested}`;
      console.warn(`idle: ${idleCap}`);
    }
    // First, on the gateway as started (after the preflight only): a heap grown by the throughput phase would absorb
    // some of the connections' allocations and understate their cost.
    idle = await idleConnections(urls['gateway-plain'], count, gateway, upstream, adminPort);
  }

  const measurements: Measurement[] = [];
  if (!values['skip-throughput']) {
    for (let round = 1; round <= params.rounds; round++) {
      const order = selected.map((_, i) => selected[(i + round - 1) % selected.length] as CaseName);
      for (const name of order) measurements.push(await measure(name, round, urls[name], pidOf(gateway), pidOf(upstream)));
    }
  }
  const summary = Object.fromEntries(
    CASES.map((name) => {
      const ms = measurements.filter((m) => m.case === name);
      if (ms.length === 0) return [name, null];
      const perCpu = ms.map((m) => m.messagesPerGatewayCpuSecond).filter((x): x is number => x !== null);
      return [
        name,
        {
          messagesPerSecond: Math.round(mean(ms.map((m) => m.messagesPerSecond))),
          perRound: ms.map((m) => m.messagesPerSecond),
          p50Ms: Math.round(mean(ms.map((m) => m.p50Ms)) * 10) / 10,
          p99Ms: Math.round(mean(ms.map((m) => m.p99Ms)) * 10) / 10,
          messagesPerGatewayCpuSecond: perCpu.length === 0 ? null : Math.round(mean(perCpu)),
          gatewayCpuShare: name === 'direct' ? null : Math.round(mean(ms.map((m) => m.gatewayCpuShare ?? 0)) * 100) / 100,
        },
      ];
    }),
  ) as Record<CaseName, { messagesPerSecond: number; messagesPerGatewayCpuSecond: number | null } | null>;
  const ratio = (a: CaseName): number | null => {
    const x = summary[a];
    const d = summary.direct;
    return x === null || d === null ? null : Math.round((x.messagesPerSecond / d.messagesPerSecond) * 100) / 100;
  };
  const ratios = { 'gateway-plain/direct': ratio('gateway-plain'), 'gateway-parsed/direct': ratio('gateway-parsed') };
  const invalid = measurements.filter((m) => m.errors + m.unexpectedCloses + m.badEchoes + m.lost > 0).map((m) => `${m.case} round ${m.round}`);

  const targets = {
    plainVsDirect: { min: 0.8, measured: ratios['gateway-plain/direct'], met: ratios['gateway-plain/direct'] === null ? null : ratios['gateway-plain/direct'] >= 0.8 },
    gatewayBytesPerIdleConnection: { max: 20 * 1024, measured: idle?.gatewayBytesPerConnection ?? null, met: idle === null ? null : idle.gatewayBytesPerConnection < 20 * 1024 },
  };
  const loadAfter = loadavg();
  const report = {
    benchmark: 'websocket',
    date: new Date().toISOString(),
    machine: { cpu: cpus()[0]?.model ?? 'unknown', cpus: cpus().length, kernel: release(), node: process.version, ws: wsVersion, busyBeforeStart: Math.round(busy * 100) / 100, loadAverageBefore: loadBefore, loadAverageAfter: loadAfter },
    params,
    summary,
    ratios,
    targets,
    invalid,
    measurements,
    idle,
    idleCap,
  };

  console.log('\ncase             msg/s     p50 ms  p99 ms  gateway msg/cpu-s  vs direct');
  for (const name of CASES) {
    const s = summary[name] as { messagesPerSecond: number; p50Ms: number; p99Ms: number; messagesPerGatewayCpuSecond: number | null } | null;
    if (s === null) continue;
    const r = name === 'direct' ? '1.00' : (ratio(name)?.toFixed(2) ?? '');
    console.log(`${name.padEnd(15)} ${s.messagesPerSecond.toLocaleString('en').padStart(8)}  ${String(s.p50Ms).padStart(6)}  ${String(s.p99Ms).padStart(6)}  ${(s.messagesPerGatewayCpuSecond?.toLocaleString('en') ?? '-').padStart(17)}  ${r}×`);
  }
  if (targets.plainVsDirect.measured !== null) console.log(`target gateway-plain ≥ 0.8× direct: ${targets.plainVsDirect.measured}× — ${targets.plainVsDirect.met === true ? 'met' : 'NOT met'}`);
  if (idle !== null) console.log(`target < 20 KiB RSS per idle connection: gateway ${(idle.gatewayBytesPerConnection / 1024).toFixed(1)} KiB (${idle.opened} connections) — ${targets.gatewayBytesPerIdleConnection.met === true ? 'met' : 'NOT met'}; upstream ${(idle.upstreamBytesPerConnection / 1024).toFixed(1)} KiB`);
  console.log(`load average before ${loadBefore.map((l) => l.toFixed(2)).join(' ')}, after ${loadAfter.map((l) => l.toFixed(2)).join(' ')}`);
  if (invalid.length > 0) console.error(`invalid measurements (errors, unexpected closes, bad or lost echoes): ${invalid.join(', ')}`);
  if (!values['no-save']) {
    const { file } = writeResultFiles(values.out, 'websocket', 'websocket-latest.json', report, new Date());
    console.log(`results: ${file}`);
  }
  await stopAll();
  rmSync(tmpDir, { recursive: true, force: true });
  process.exitCode = invalid.length > 0 ? 1 : 0;
} catch (err) {
  console.error(err);
  await stopAll();
  rmSync(tmpDir, { recursive: true, force: true });
  process.exitCode = 1;
}
