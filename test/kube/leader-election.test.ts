// Leader election against a real API server: candidates are real processes (test/kube/fixtures/lease-candidate.ts)
// on one Lease. Exactly one leads; kill -9 the leader and another takes over once the lease expires (not
// before); a graceful stop releases the lease and the successor takes over within about one retry period;
// a leader frozen past its renew deadline steps down as soon as it runs again.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startControlPlane, type ControlPlane } from './control-plane.ts';

const CANDIDATE = fileURLToPath(new URL('./fixtures/lease-candidate.ts', import.meta.url));
const LEASE_MS = 3000;
const RENEW_DEADLINE_MS = 2000;
const RETRY_MS = 500;
/** Process scheduling, API round trips and the candidates' retry jitter (×1.2) on a busy 2-core machine. */
const SLACK_MS = 1500;

interface CandidateEvent {
  event: 'ready' | 'leading' | 'stopped' | 'released';
  identity: string;
  at: number;
}

interface Candidate {
  identity: string;
  child: ChildProcess;
  events: CandidateEvent[];
  stderr: () => string;
  waitFor: (event: CandidateEvent['event'], timeoutMs: number, after?: number) => Promise<CandidateEvent>;
  exited: Promise<number | null>;
}

function startCandidate(t: TestContext, cp: ControlPlane, lease: string, identity: string): Candidate {
  const child = spawn(process.execPath, [CANDIDATE, cp.kubeconfigPath, 'default', lease, identity], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LEASE_DURATION_MS: String(LEASE_MS), RENEW_DEADLINE_MS: String(RENEW_DEADLINE_MS), RETRY_PERIOD_MS: String(RETRY_MS) },
  });
  // Killed by pid whatever happens in the test (SIGKILL also ends a SIGSTOPped process).
  t.after(() => {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGKILL');
  });
  const events: CandidateEvent[] = [];
  const waiters = new Set<() => void>();
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    let nl: number;
    while ((nl = out.indexOf('\n')) >= 0) {
      const line = out.slice(0, nl);
      out = out.slice(nl + 1);
      if (line.trim()) events.push(JSON.parse(line) as CandidateEvent);
    }
    for (const w of waiters) w();
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const waitFor = (event: CandidateEvent['event'], timeoutMs: number, after = 0): Promise<CandidateEvent> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const found = events.find((e) => e.event === event && e.at >= after);
        if (!found) return;
        cleanup();
        resolve(found);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${identity}: no "${event}" within ${timeoutMs} ms; events ${JSON.stringify(events)}; stderr:\n${err}`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });
  return { identity, child, events, stderr: () => err, waitFor, exited };
}

async function firstLeader(candidates: Candidate[], timeoutMs: number): Promise<Candidate> {
  return Promise.any(candidates.map(async (c) => (await c.waitFor('leading', timeoutMs), c)));
}

async function leaseSpec(cp: ControlPlane, name: string): Promise<Record<string, unknown>> {
  const r = await cp.kubectl(['get', 'lease', name, '-n', 'default', '-o', 'json']);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { spec: Record<string, unknown> }).spec;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

test('leader election on a real Lease', { timeout: 120_000 }, async (t) => {
  const cp = await startControlPlane({ installCrds: false });
  t.after(() => cp.stop());

  await t.test('two candidates: exactly one leads, and the Lease says so with MicroTime timestamps', async (t) => {
    const a = startCandidate(t, cp, 'one-leader', 'a');
    const b = startCandidate(t, cp, 'one-leader', 'b');
    const leader = await firstLeader([a, b], 15_000);
    const follower = leader === a ? b : a;
    await sleep(LEASE_MS + RETRY_MS * 2); // long enough for a wrongly-expired lease to be taken
    assert.deepEqual(follower.events.filter((e) => e.event === 'leading'), [], 'the follower never led');
    assert.deepEqual(leader.events.filter((e) => e.event === 'stopped'), [], 'the leader kept leading');
    const spec = await leaseSpec(cp, 'one-leader');
    assert.equal(spec.holderIdentity, leader.identity);
    assert.equal(spec.leaseDurationSeconds, LEASE_MS / 1000);
    assert.match(String(spec.renewTime), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    assert.match(String(spec.acquireTime), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  });

  await t.test('kill -9 the leader: the other takes over after the lease expires, not before', async (t) => {
    const a = startCandidate(t, cp, 'crash', 'a');
    const b = startCandidate(t, cp, 'crash', 'b');
    const leader = await firstLeader([a, b], 15_000);
    const follower = leader === a ? b : a;
    await sleep(RETRY_MS * 3); // a few renewals, so the follower has seen the lease change
    const transitionsBefore = Number((await leaseSpec(cp, 'crash')).leaseTransitions ?? 0);
    const killedAt = Date.now();
    process.kill(leader.child.pid!, 'SIGKILL');
    // The dead leader's last renewal, read before anyone can have taken over (that takes a lease duration).
    const last = await leaseSpec(cp, 'crash');
    assert.equal(last.holderIdentity, leader.identity);
    const lastRenewAt = Date.parse(String(last.renewTime));
    const took = await follower.waitFor('leading', LEASE_MS + 2 * RETRY_MS + SLACK_MS + 5_000);
    const failoverMs = took.at - killedAt;
    t.diagnostic(`failover after kill -9: ${failoverMs} ms (${took.at - lastRenewAt} ms after the last renewal; lease ${LEASE_MS} ms, retry ${RETRY_MS} ms)`);
    // Not before the lease expired: the follower's clock for the last record started when it read it, after the renewal.
    assert.ok(took.at - lastRenewAt >= LEASE_MS, `took over ${took.at - lastRenewAt} ms after the last renewal, before the lease expired`);
    // Not much later: the follower sees the last renewal within a retry period and checks again every retry period.
    assert.ok(failoverMs < LEASE_MS + 2 * RETRY_MS + SLACK_MS, `took over too late: ${failoverMs} ms`);
    const spec = await leaseSpec(cp, 'crash');
    assert.equal(spec.holderIdentity, follower.identity);
    assert.equal(Number(spec.leaseTransitions), transitionsBefore + 1, 'a takeover counts as a transition');
  });

  await t.test('graceful stop releases the lease: the successor takes over within about one retry period', async (t) => {
    const a = startCandidate(t, cp, 'graceful', 'a');
    const b = startCandidate(t, cp, 'graceful', 'b');
    const leader = await firstLeader([a, b], 15_000);
    const follower = leader === a ? b : a;
    await sleep(RETRY_MS * 3);
    const stoppedAt = Date.now();
    process.kill(leader.child.pid!, 'SIGTERM');
    const released = await leader.waitFor('released', 10_000);
    assert.ok(leader.events.some((e) => e.event === 'stopped'), 'onStoppedLeading ran');
    assert.equal(await leader.exited, 0);
    const took = await follower.waitFor('leading', 10_000);
    const handoverMs = took.at - stoppedAt;
    t.diagnostic(`handover after graceful stop: ${handoverMs} ms (release written ${released.at - stoppedAt} ms after SIGTERM)`);
    assert.ok(handoverMs < RETRY_MS * 1.2 + 1000, `handover took ${handoverMs} ms; a released lease must not wait out its duration`);
  });

  await t.test('a leader frozen past its renew deadline steps down as soon as it runs again', async (t) => {
    const a = startCandidate(t, cp, 'frozen', 'a');
    const b = startCandidate(t, cp, 'frozen', 'b');
    const leader = await firstLeader([a, b], 15_000);
    const follower = leader === a ? b : a;
    await sleep(RETRY_MS * 3);
    process.kill(leader.child.pid!, 'SIGSTOP');
    await follower.waitFor('leading', LEASE_MS + 2 * RETRY_MS + SLACK_MS + 5_000);
    const resumedAt = Date.now();
    process.kill(leader.child.pid!, 'SIGCONT');
    const stepped = await leader.waitFor('stopped', 5_000);
    t.diagnostic(`old leader stepped down ${stepped.at - resumedAt} ms after resuming`);
    assert.ok(stepped.at - resumedAt < RETRY_MS + 1000);
    await sleep(RETRY_MS * 4);
    assert.equal((await leaseSpec(cp, 'frozen')).holderIdentity, follower.identity, 'the old leader did not take it back');
    assert.deepEqual(follower.events.filter((e) => e.event === 'stopped'), []);
  });
});
