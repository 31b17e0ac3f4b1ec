// Leader election's decisions without an API server: given a lease, what we observed and when, and now.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { V1MicroTime } from '@kubernetes/client-node';
import { decide, fingerprint, microTime, nextSpec, observe, readRecord, releasedSpec, type LeaseRecord } from '../../controller/leader/lease-decision.ts';

const ME = 'replica-a';
const OTHER = 'replica-b';
const held = (holder: string, renewTime = '2026-01-01T10:00:00.000000Z'): LeaseRecord => ({
  holderIdentity: holder,
  leaseDurationSeconds: 3,
  acquireTime: '2026-01-01T09:00:00.000000Z',
  renewTime,
  leaseTransitions: 4,
});
const base = { identity: ME, leaseDurationMs: 15_000 };

test('no lease: create it', () => {
  assert.deepEqual(decide({ ...base, record: undefined, observation: undefined, nowMs: 0 }), { action: 'create' });
});

test('held by us: renew, whatever the times say', () => {
  const record = held(ME, '2000-01-01T00:00:00.000000Z');
  assert.deepEqual(decide({ ...base, record, observation: observe(undefined, record, 0), nowMs: 1e9 }), { action: 'renew' });
});

test('released (no holder): acquire at once, without waiting out the duration', () => {
  const record: LeaseRecord = { leaseDurationSeconds: 1, leaseTransitions: 4 };
  assert.deepEqual(decide({ ...base, record, observation: observe(undefined, record, 100), nowMs: 100 }), { action: 'acquire' });
});

test('held by another and seen just now: wait the whole duration, by our clock', () => {
  // The remote renewTime is years old; only how long *we* have seen it unchanged counts.
  const record = held(OTHER, '2000-01-01T00:00:00.000000Z');
  const observation = observe(undefined, record, 5_000);
  assert.deepEqual(decide({ ...base, record, observation, nowMs: 5_000 }), { action: 'wait', holder: OTHER, expiresInMs: 3_000 });
  assert.deepEqual(decide({ ...base, record, observation, nowMs: 7_999 }), { action: 'wait', holder: OTHER, expiresInMs: 1 });
  assert.deepEqual(decide({ ...base, record, observation, nowMs: 8_000 }), { action: 'acquire' });
});

test('a lease from the future (skewed remote clock) still expires by our clock', () => {
  const record = held(OTHER, '2099-01-01T00:00:00.000000Z');
  const observation = observe(undefined, record, 0);
  assert.equal(decide({ ...base, record, observation, nowMs: 3_000 }).action, 'acquire');
});

test('a renewal restarts the expiry clock; re-reading the same record does not', () => {
  let observation = observe(undefined, held(OTHER, '2026-01-01T10:00:00.000000Z'), 0);
  observation = observe(observation, held(OTHER, '2026-01-01T10:00:00.000000Z'), 2_000);
  assert.equal(observation.atMs, 0, 'unchanged record keeps its first sighting');
  observation = observe(observation, held(OTHER, '2026-01-01T10:00:02.000000Z'), 2_500);
  assert.equal(observation.atMs, 2_500);
  const record = held(OTHER, '2026-01-01T10:00:02.000000Z');
  assert.equal(decide({ ...base, record, observation, nowMs: 5_000 }).action, 'wait');
  assert.equal(decide({ ...base, record, observation, nowMs: 5_500 }).action, 'acquire');
});

test('an observation of a different record does not count: the clock starts at this read', () => {
  const stale = observe(undefined, held(OTHER, '2026-01-01T10:00:00.000000Z'), 0);
  const record = held(OTHER, '2026-01-01T10:00:09.000000Z');
  assert.deepEqual(decide({ ...base, record, observation: stale, nowMs: 60_000 }), { action: 'wait', holder: OTHER, expiresInMs: 3_000 });
});

test('a record without a duration uses ours', () => {
  const record: LeaseRecord = { holderIdentity: OTHER };
  const observation = observe(undefined, record, 0);
  assert.equal(decide({ ...base, record, observation, nowMs: 14_999 }).action, 'wait');
  assert.equal(decide({ ...base, record, observation, nowMs: 15_000 }).action, 'acquire');
});

test('takeover bumps leaseTransitions and resets acquireTime; renewal keeps both', () => {
  const now = new Date('2026-01-01T10:00:05.123Z');
  const taken = nextSpec('acquire', held(OTHER), ME, 3, now);
  assert.equal(taken.holderIdentity, ME);
  assert.equal(taken.leaseTransitions, 5);
  assert.equal(taken.leaseDurationSeconds, 3);
  assert.equal(taken.acquireTime?.toISOString(), '2026-01-01T10:00:05.123000Z');
  const renewed = nextSpec('renew', held(ME), ME, 3, now);
  assert.equal(renewed.leaseTransitions, 4);
  assert.equal(renewed.acquireTime?.toISOString(), '2026-01-01T09:00:00.000000Z');
  assert.equal(renewed.renewTime?.toISOString(), '2026-01-01T10:00:05.123000Z');
  const created = nextSpec('create', undefined, ME, 3, now);
  assert.equal(created.leaseTransitions, 0);
});

test('a released lease has no holder and keeps the transition count', () => {
  const spec = releasedSpec(held(ME), new Date('2026-01-01T10:00:00Z'));
  assert.equal(spec.holderIdentity, undefined);
  assert.equal(spec.leaseTransitions, 4);
  assert.equal(decide({ ...base, record: readRecord(spec), observation: undefined, nowMs: 0 }).action, 'acquire');
});

test('MicroTime goes on the wire with exactly six fractional digits, including through JSON', () => {
  assert.equal(microTime(new Date('2026-01-01T10:00:00Z')), '2026-01-01T10:00:00.000000Z');
  assert.equal(JSON.stringify({ t: new V1MicroTime(Date.parse('2026-01-01T10:00:00.5Z')) }), '{"t":"2026-01-01T10:00:00.500000Z"}');
  assert.match(JSON.stringify(nextSpec('create', undefined, ME, 3, new Date())), /"renewTime":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z"/);
});

test('readRecord accepts the strings client-node hands back and Dates alike', () => {
  const fromServer = readRecord({ holderIdentity: OTHER, renewTime: '2026-01-01T10:00:00.123456Z' as unknown as V1MicroTime });
  assert.equal(fromServer.renewTime, '2026-01-01T10:00:00.123456Z');
  const fromUs = readRecord({ holderIdentity: OTHER, renewTime: new V1MicroTime('2026-01-01T10:00:00.123Z') });
  assert.equal(fromUs.renewTime, '2026-01-01T10:00:00.123000Z');
  assert.equal(fingerprint(readRecord(undefined)), fingerprint({}));
});
