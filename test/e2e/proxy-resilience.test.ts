// Failure handling and table swaps: ejection and its backoff, retries, aborted clients, in-flight requests
// across a swap, refused tables, warm connections kept.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { refusedPort, startEcho, startSlow, startUpstream } from './helpers/upstreams.ts';
import { backend, route, table } from './helpers/tables.ts';
import { closeAfter, startTestGateway } from './helpers/gateway.ts';
import { send } from './helpers/http-client.ts';
import { TABLE_SCHEMA_VERSION } from '../../proxy/table/table-schema.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('retry on connect failure: a GET to a refusing endpoint is served by the next one', async (t) => {
  const good = await startEcho('good');
  closeAfter(t, good);
  const dead = await refusedPort();
  const gw = await startTestGateway(t, table([route('r', '/', ['be'], { retries: { attempts: 1 } })], [backend('be', [dead, good.port])]), {
    ejection: { baseMs: 60_000, maxMs: 60_000 },
  });
  // Round-robin starts at the dead endpoint: the first request must fail over to the good one.
  const r = await send(gw.port, '/first');
  assert.equal(r.status, 200);
  assert.equal(r.headers['x-upstream'], 'good');
  const line = gw.logs.lines.find((l) => l.path === '/first');
  assert.equal(line?.upstream, `127.0.0.1:${good.port}`, 'the log names the endpoint that answered');

  // A body is not replayed: with the dead endpoint back in rotation, a POST that hits it gets a 502.
  const gw2 = await startTestGateway(t, table([route('r', '/', ['be'], { retries: { attempts: 3 } })], [backend('be', [dead, good.port])]));
  const post = await send(gw2.port, '/', { method: 'POST', body: 'payload' });
  assert.equal(post.status, 502, 'requests with a body are never retried');
});

test('passive ejection: a refusing endpoint leaves the rotation, with backoff, and returns once it listens', async (t) => {
  const good = await startEcho('good');
  closeAfter(t, good);
  const port = await refusedPort();
  const gw = await startTestGateway(t, table([route('r', '/', ['be'], { retries: { attempts: 0 } })], [backend('be', [port, good.port])]), {
    ejection: { baseMs: 400, maxMs: 2_000 },
  });
  assert.equal((await send(gw.port, '/')).status, 502, 'no retries: the first pick (the dead one) fails');
  for (let i = 0; i < 10; i++) {
    const r = await send(gw.port, '/');
    assert.equal(r.status, 200, 'while ejected, every request goes to the healthy endpoint');
  }
  // After the backoff it is tried again, fails again, and is ejected for twice as long.
  await sleep(450);
  const statuses: number[] = [];
  for (let i = 0; i < 2; i++) statuses.push((await send(gw.port, '/')).status);
  assert.ok(statuses.includes(502), `the endpoint is probed again after its backoff (${statuses})`);
  await sleep(450);
  for (let i = 0; i < 4; i++) assert.equal((await send(gw.port, '/')).status, 200, 'second ejection lasts 800 ms, not 400');

  // Bring the endpoint up: once its backoff runs out it serves again.
  const revived = await startUpstream('revived', (_req, res) => res.writeHead(200, { 'x-upstream': 'revived' }).end('back'));
  revived.server.close();
  await new Promise<void>((resolve, reject) => {
    revived.server.once('error', reject);
    revived.server.listen(port, '127.0.0.1', () => resolve());
  });
  closeAfter(t, revived);
  const deadline = Date.now() + 3_000;
  let seenRevived = false;
  while (!seenRevived && Date.now() < deadline) {
    const r = await send(gw.port, '/');
    seenRevived = r.headers['x-upstream'] === 'revived';
    if (!seenRevived) await sleep(50);
  }
  assert.ok(seenRevived, 'the endpoint is back in rotation');
});

test('aborted clients release their upstream connections: the pool is never exhausted', async (t) => {
  const slow = await startSlow('slow');
  closeAfter(t, slow);
  const gw = await startTestGateway(t, table([route('r', '/', ['be'])], [backend('be', [slow.port])]), { pools: { connections: 4 } });
  const ABORTED = 40; // ten times the pool size
  for (let i = 0; i < ABORTED; i += 10) {
    await Promise.all(Array.from({ length: 10 }, () => abortAfter(gw.port, '/delay/30000', 30)));
  }
  // Every aborted exchange must have been cut upstream too, not left waiting on the 30 s reply.
  const deadline = Date.now() + 3_000;
  while (slow.open() > 0 && Date.now() < deadline) await sleep(20);
  assert.equal(slow.open(), 0, 'the upstream sees every aborted request closed');
  const started = performance.now();
  const r = await send(gw.port, '/fast', { timeoutMs: 3_000 });
  assert.equal(r.status, 200);
  assert.ok(performance.now() - started < 1_000, 'served at once: no connection is pinned by an aborted request');
  const aborted = gw.logs.lines.filter((l) => l.status === 499);
  assert.equal(aborted.length, ABORTED, 'each abort is logged as 499');
});

test('a table swap while a slow request is in flight: it finishes on the old table, new requests use the new one', async (t) => {
  const old = await startSlow('old');
  const fresh = await startEcho('new');
  closeAfter(t, old, fresh);
  const gw = await startTestGateway(
    t,
    table([route('r', '/', ['be-old'], { responseHeaders: { set: [['x-table', 'one']], add: [], remove: [] } })], [backend('be-old', [old.port])], 'one'),
  );
  const inFlight = send(gw.port, '/delay/600');
  await sleep(150);
  const applied = gw.applyTable(
    table([route('r', '/', ['be-new'], { responseHeaders: { set: [['x-table', 'two']], add: [], remove: [] } })], [backend('be-new', [fresh.port])], 'two'),
  );
  assert.deepEqual(applied, { ok: true, version: 'two' });
  const during = await send(gw.port, '/delay/600');
  assert.equal(during.headers['x-upstream'], 'new');
  assert.equal(during.headers['x-table'], 'two');
  const finished = await inFlight;
  assert.equal(finished.status, 200, 'the retired endpoint pool let its running request finish');
  assert.equal(finished.body, 'slow old');
  assert.equal(finished.headers['x-table'], 'one', "the in-flight request kept its table's response header changes");
});

test('a refused table leaves the current one serving; an unchanged endpoint keeps its warm connection', async (t) => {
  const a = await startEcho('a');
  closeAfter(t, a);
  let connections = 0;
  a.server.on('connection', () => connections++);
  const gw = await startTestGateway(t, table([route('r', '/', ['be'])], [backend('be', [a.port])], 'good'));
  assert.equal((await send(gw.port, '/')).status, 200);

  const badRef = gw.applyTable(table([route('r', '/', ['missing'])], [backend('be', [a.port])], 'bad-ref'));
  assert.equal(badRef.ok, false);
  assert.match(badRef.ok ? '' : badRef.error, /unknown backend "missing"/);
  const badShape = gw.applyTable({ schema: TABLE_SCHEMA_VERSION, version: 'bad-shape', routes: [{ id: 'x' }], backends: [], authorizers: [] });
  assert.equal(badShape.ok, false);
  const badRegex = gw.applyTable(table([route('r', '/', ['be'], { path: { type: 'regex', value: '(' } })], [backend('be', [a.port])], 'bad-regex'));
  assert.equal(badRegex.ok, false);
  assert.equal(gw.version(), 'good');
  assert.equal((await send(gw.port, '/')).status, 200);

  // Same endpoint, different routes: the pool (and its keep-alive connection) carries over.
  const before = connections;
  const swapped = gw.applyTable(table([route('r2', '/', ['be'], { requestHeaders: { set: [['x-v', '2']], add: [], remove: [] } })], [backend('be', [a.port])], 'next'));
  assert.equal(swapped.ok, true);
  const r = await send(gw.port, '/');
  assert.equal(r.json<{ headers: Record<string, string> }>().headers['x-v'], '2');
  assert.equal(connections, before, 'no new upstream connection after the swap');
  const metrics = (await send(gw.adminPort, '/metrics')).body;
  assert.match(metrics, /gatehouse_table_applies_total\{result="refused"\} 3/);
});

/** Sends a request and destroys the connection after `ms`, before any reply. */
function abortAfter(port: number, path: string, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false });
    req.on('error', () => resolve());
    req.on('response', () => req.destroy());
    req.end();
    setTimeout(() => {
      req.destroy();
      resolve();
    }, ms);
  });
}
