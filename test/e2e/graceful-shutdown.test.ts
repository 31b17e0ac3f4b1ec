// A real `gatehouse standalone` (and `gatehouse proxy`) process under SIGTERM and SIGINT: /readyz fails at once while
// requests are still served (answered with Connection: close) through --shutdown-delay; then new connections are
// refused while a slow request in flight finishes; the process exits 0. A request still running at
// --shutdown-timeout is cut and the process still exits 0; a second signal exits at once with 143.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { startCliProcess, type CliProcess } from '../support/cli-process.ts';
import { startStream, TOKEN } from '../fleet/stream-fixture.ts';
import { backend, route, table } from './helpers/tables.ts';
import { startSlow } from './helpers/upstreams.ts';
import { untilSeen as until } from '../support/wait-for.ts';
import { mustOpen, mustRefuse, within } from './helpers/websocket-clients.ts';
import { startWsUpstream } from './helpers/websocket-upstreams.ts';

interface Answer {
  status: number;
  /** The Connection header of the answer. */
  connection: string | undefined;
  body: string;
}

/**
 * GET on 127.0.0.1:port; `agent` to reuse a keep-alive connection (without one the client itself asks to close).
 * Rejects with the socket error (code kept).
 */
function get(port: number, path: string, agent: Agent | false = false, timeoutMs = 15_000): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body }));
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer to ${path} in ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

interface Running {
  p: CliProcess<{ port: number; adminPort: number }>;
  /** Resolves the exit code (or the signal that ended it). */
  exited: Promise<number | string>;
}

const started = z.object({ port: z.number().int(), adminPort: z.number().int() });

async function startCommand(t: TestContext, command: 'standalone' | 'proxy', args: string[]): Promise<Running> {
  const p = await startCliProcess({
    args: [command, '--port', '0', '--admin-port', '0', ...(command === 'proxy' ? ['--host', '127.0.0.1'] : []), ...args],
    marker: command === 'standalone' ? 'gatehouse standalone ready' : 'gatehouse proxy started',
    schema: started,
    what: `gatehouse ${command}`,
    timeoutMs: 20_000,
  });
  t.after(() => p.stop(true)); // nothing left if the test saw it exit
  const exited = once(p.child, 'exit').then(([code, signal]) => (code ?? signal) as number | string);
  return { p, exited };
}

/** `gatehouse standalone` serving one ApiRoute rule (YAML, indented as a list item of `rules`), on free ports. */
async function startStandaloneWith(t: TestContext, name: string, rule: string, args: string[]): Promise<Running> {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-shutdown-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'route.yaml'), `apiVersion: gatehouse.dev/v1alpha1\nkind: ApiRoute\nmetadata: { name: ${name}, namespace: default }\nspec:\n  rules:\n${rule}`);
  return startCommand(t, 'standalone', ['--config', dir, ...args]);
}

/** `gatehouse standalone` serving one route to `upstreamPort`, on free ports. */
function startStandaloneTo(t: TestContext, upstreamPort: number, args: string[]): Promise<Running> {
  return startStandaloneWith(t, 'slow', `    - matches: [{ path: { type: Prefix, value: / } }]\n      backends: [{ url: "http://127.0.0.1:${upstreamPort}" }]\n`, args);
}

/** The shutdown phases the process logged, in order. */
/** A GET on a connection of its own that asks to be kept alive. */
async function getFresh(t: TestContext, port: number, path: string): Promise<Answer> {
  const agent = new Agent({ keepAlive: true });
  t.after(() => agent.destroy());
  return get(port, path, agent);
}

function phases(p: CliProcess<unknown>): string[] {
  return p
    .stdout()
    .split('\n')
    .filter((l) => l.includes('"phase"'))
    .map((l) => (JSON.parse(l) as { phase: string }).phase);
}

function phaseLine(p: CliProcess<unknown>, phase: string): Record<string, unknown> | undefined {
  const line = p.stdout().split('\n').find((l) => l.includes(`"phase":"${phase}"`));
  return line === undefined ? undefined : (JSON.parse(line) as Record<string, unknown>);
}

async function readyz(adminPort: number): Promise<Answer> {
  return get(adminPort, '/readyz', false, 2_000);
}

/** Bounded wait for the exit code. */
async function exitCode(r: Running, timeoutMs: number): Promise<number | string> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<string>((resolve) => (timer = setTimeout(() => resolve(`still running after ${timeoutMs} ms`), timeoutMs)));
  try {
    return await Promise.race([r.exited, late]);
  } finally {
    clearTimeout(timer);
  }
}

test('SIGTERM: unready at once, serving on through the delay, then refusing new connections while the slow request finishes; exit 0', async (t) => {
  const upstream = await startSlow('up');
  t.after(() => upstream.close());
  const r = await startStandaloneTo(t, upstream.port, ['--shutdown-delay', '2s', '--shutdown-timeout', '10s']);
  const { port, adminPort } = r.p.started;
  const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });
  t.after(() => keepAlive.destroy());
  const before = await get(port, '/fast', keepAlive);
  assert.deepEqual([before.status, before.connection], [200, 'keep-alive']);
  assert.equal((await readyz(adminPort)).status, 200);

  // In flight when the signal comes, and still running after the delay: finished in the drain. It came before the
  // signal, so it is answered keep-alive; its socket, idle then, must not hold the drain until the deadline.
  const slowAgent = new Agent({ keepAlive: true });
  t.after(() => slowAgent.destroy());
  const slow = get(port, '/delay/3500', slowAgent);
  await until('the slow request at the upstream', async () => upstream.open() === 1, () => `${upstream.open()} open`);
  const signalledAt = Date.now();
  r.p.child.kill('SIGTERM');

  let ready: Answer | undefined;
  await until('/readyz to answer 503', async () => (ready = await readyz(adminPort)).status === 503, () => JSON.stringify(ready));
  assert.equal(ready?.body, 'not ready: shutting down (SIGTERM)\n');
  const unreadyAfterMs = Date.now() - signalledAt;

  // The delay: still served, on the kept-alive connection and on new ones, each told to close.
  const reused = await get(port, '/fast', keepAlive);
  const fresh = await getFresh(t, port, '/fast');
  assert.deepEqual([reused.status, reused.connection, reused.body], [200, 'close', 'fast up']);
  assert.deepEqual([fresh.status, fresh.connection], [200, 'close']);
  assert.deepEqual(phases(r.p), ['unready'], `served during the delay (unready after ${unreadyAfterMs} ms)`);

  // The drain: new connections are refused, /readyz still says why.
  await until('the drain phase', async () => phases(r.p).includes('drain'), () => phases(r.p).join(','), 5_000);
  const drainAt = Date.now() - signalledAt;
  assert.ok(drainAt >= 1_900, `the listener closed after the delay (${drainAt} ms)`);
  await assert.rejects(get(port, '/fast'), (err: NodeJS.ErrnoException) => err.code === 'ECONNREFUSED');
  assert.equal((await readyz(adminPort)).status, 503);
  assert.equal(upstream.open(), 1, 'the slow request is still running');

  const answer = await slow;
  assert.deepEqual([answer.status, answer.body], [200, 'slow up'], 'the in-flight request finished');
  assert.equal(await exitCode(r, 10_000), 0);
  assert.deepEqual(phases(r.p), ['unready', 'drain', 'drained', 'done']);
  const drain = phaseLine(r.p, 'drain');
  assert.equal(drain?.connections, 1, 'one connection in flight when the listener closed');
  assert.ok(Number(drain?.delayMs) >= 2_000, JSON.stringify(drain));
  const drainMs = Number(phaseLine(r.p, 'drained')?.drainMs);
  assert.ok(drainMs >= 1_000 && drainMs < 5_000, `the drain waited for the slow request, and no longer (${drainMs} ms)`);
});

test('SIGINT: a request still running at the deadline is cut, and the process still exits 0', async (t) => {
  const upstream = await startSlow('up');
  t.after(() => upstream.close());
  const r = await startStandaloneTo(t, upstream.port, ['--shutdown-delay', '0s', '--shutdown-timeout', '500ms']);
  const slow = get(r.p.started.port, '/delay/20000');
  await until('the slow request at the upstream', async () => upstream.open() === 1, () => `${upstream.open()} open`);
  const signalledAt = Date.now();
  r.p.child.kill('SIGINT');
  await assert.rejects(slow, (err: NodeJS.ErrnoException) => ['ECONNRESET', 'ECONNREFUSED'].includes(err.code ?? '') || /socket hang up/.test(err.message));
  assert.equal(await exitCode(r, 10_000), 0);
  const tookMs = Date.now() - signalledAt;
  assert.ok(tookMs < 5_000, `exited at the deadline, not when the upstream answered (${tookMs} ms)`);
  assert.deepEqual(phases(r.p), ['unready', 'drain', 'cut', 'done']);
  assert.equal(phaseLine(r.p, 'unready')?.reason, 'shutting down (SIGINT)');
  assert.equal(phaseLine(r.p, 'cut')?.connections, 1);
  await until('the upstream request to be let go', async () => upstream.open() === 0, () => `${upstream.open()} open`);
});

test('a second SIGTERM during the shutdown exits at once with 143', async (t) => {
  const upstream = await startSlow('up');
  t.after(() => upstream.close());
  const r = await startStandaloneTo(t, upstream.port, ['--shutdown-delay', '30s']);
  r.p.child.kill('SIGTERM');
  let ready: Answer | undefined;
  await until('/readyz to answer 503', async () => (ready = await readyz(r.p.started.adminPort)).status === 503, () => JSON.stringify(ready));
  const secondAt = Date.now();
  r.p.child.kill('SIGTERM');
  assert.equal(await exitCode(r, 5_000), 143);
  assert.ok(Date.now() - secondAt < 3_000, 'without waiting for the delay');
  assert.match(r.p.stdout(), /"msg":"shutdown: second signal; exiting now"/);
});

test('gatehouse proxy: the same phases, and the controller sees it go', async (t) => {
  const upstream = await startSlow('up');
  t.after(() => upstream.close());
  const { stream, fleet, url } = await startStream(t);
  stream.publish(table([route('r', '/', ['be'])], [backend('be', [upstream.port])], 'v1'));
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-shutdown-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'token'), TOKEN);
  const r = await startCommand(t, 'proxy', ['--controller', url, '--token-file', join(dir, 'token'), '--name', 'p1', '--shutdown-delay', '1s', '--shutdown-timeout', '5s']);
  const { port, adminPort } = r.p.started;
  let ready: Answer | undefined;
  await until('the proxy to serve v1', async () => (ready = await readyz(adminPort)).status === 200, () => JSON.stringify(ready));
  assert.equal(fleet.list().length, 1);

  r.p.child.kill('SIGTERM');
  await until('/readyz to answer 503', async () => (ready = await readyz(adminPort)).status === 503, () => JSON.stringify(ready));
  assert.equal(ready?.body, 'not ready: shutting down (SIGTERM)\n');
  const during = await getFresh(t, port, '/fast');
  assert.deepEqual([during.status, during.connection], [200, 'close']);
  assert.equal(await exitCode(r, 10_000), 0);
  assert.deepEqual(phases(r.p), ['unready', 'drain', 'drained', 'done']);
  await until('the controller to see the proxy go', async () => fleet.list().length === 0, () => JSON.stringify(fleet.list()));
});

for (const mode of ['piped', 'parsed'] as const) {
  test(`SIGTERM with a WebSocket open (${mode}): new upgrades refused at once, the open one still works through the delay, then 1001 and exit 0`, async (t) => {
    const upstream = await startWsUpstream();
    t.after(() => upstream.close());
    const websocket = mode === 'parsed' ? '{ maxMessageSize: 64Ki }' : '{ enabled: true }';
    const rule = `    - matches: [{ path: { type: Prefix, value: /chat } }]\n      websocket: ${websocket}\n      backends: [{ url: "http://127.0.0.1:${upstream.port}" }]\n`;
    const r = await startStandaloneWith(t, 'chat', rule, ['--shutdown-delay', '1s', '--shutdown-timeout', '5s']);
    const { port } = r.p.started;
    const open = await mustOpen(port, '/chat');
    t.after(() => open.ws.terminate());

    r.p.child.kill('SIGTERM');
    const signalledAt = Date.now();
    await until('/readyz to answer 503', async () => (await readyz(r.p.started.adminPort)).status === 503, () => 'not yet');
    const refused = await mustRefuse(port, '/chat');
    assert.equal(refused.status, 503, 'a new upgrade during the delay is refused');
    open.ws.send('still here');
    assert.equal((await open.messages.next()).data.toString(), 'still here', 'the open connection works through the delay');

    assert.deepEqual(await within(open.closed, 10_000, 'the close frame'), { code: 1001, reason: 'gateway shutting down' });
    assert.ok(Date.now() - signalledAt >= 900, `1001 after the shutdown delay, not at once (${Date.now() - signalledAt} ms)`);
    assert.equal(await exitCode(r, 10_000), 0);
    const drain = phaseLine(r.p, 'drain');
    assert.equal(drain?.upgraded, 1, 'the drain line counts the WebSocket it closed');
    assert.deepEqual(phases(r.p), ['unready', 'drain', 'drained', 'done']);
  });
}
