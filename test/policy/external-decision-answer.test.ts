// The answer contract and the cache key, without a network: what counts as allow, deny or unavailable.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readAnswer } from '../../proxy/policy/external/decision-answer.ts';
import type { AnswerPolicy, Decision } from '../../proxy/policy/external/decision-answer.ts';
import { decisionKey } from '../../proxy/policy/external/decision-key.ts';

const policy: AnswerPolicy = { authorizerId: 'ns/ext', contextHeaders: new Set(['x-tenant', 'x-consumer']), consumerHeader: 'x-consumer' };

function answer(status: number, body: unknown): Decision {
  return readAnswer(status, Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)), policy);
}

test('2xx answers: allow, consumer, listed headers only, ttl clamped to [0, 3600] s', () => {
  const d = answer(200, { allow: true, consumer: 'acme', headers: { 'X-Tenant': 't', 'x-other': 'o', 'x-consumer': 'forged' }, ttl: 99_999 });
  assert.equal(d.kind, 'allow');
  if (d.kind !== 'allow') return;
  assert.equal(d.consumer.name, 'acme');
  assert.ok(Object.isFrozen(d.consumer));
  assert.deepEqual(d.headers, [
    ['x-consumer', 'acme'],
    ['x-tenant', 't'],
  ]);
  assert.equal(d.ttlMs, 3_600_000);
  assert.equal((answer(200, { ttl: -5 }) as { ttlMs: number }).ttlMs, 0);
  assert.equal((answer(204, '') as { ttlMs: unknown }).ttlMs, undefined);
  assert.equal(answer(200, { consumer: '' }).kind, 'allow');
  assert.deepEqual(answer(200, { allow: false, ttl: 2 }), { kind: 'deny', status: 403, ttlMs: 2000 });
});

test('401 and 403 deny whatever the body; a well-formed ttl in it is kept', () => {
  assert.deepEqual(answer(401, 'Unauthorized'), { kind: 'deny', status: 401, ttlMs: undefined });
  assert.deepEqual(answer(403, { ttl: 10 }), { kind: 'deny', status: 403, ttlMs: 10_000 });
  assert.deepEqual(answer(403, { allow: true }), { kind: 'deny', status: 403, ttlMs: undefined });
});

test('anything off the contract is unavailable, never an allow', () => {
  const bad: Array<[number, unknown]> = [
    [200, 'not json'],
    [200, 'null'],
    [200, '"yes"'],
    [200, { allow: 'true' }],
    [200, { allow: 1 }],
    [200, { consumer: 7 }],
    [200, { consumer: 'a\nb' }],
    [200, { ttl: '60' }],
    [200, { headers: ['x-tenant', 't'] }],
    [200, { headers: { 'x-tenant': 5 } }],
    [200, { headers: { 'x-tenant': 'a\u0000b' } }],
    [200, { headers: { 'x-tenant': 'a', 'X-Tenant': 'b' } }],
    [301, {}],
    [404, {}],
    [429, {}],
    [502, {}],
  ];
  for (const [status, body] of bad) assert.equal(answer(status, body).kind, 'unavailable', `${status} ${JSON.stringify(body)}`);
  // An unlisted header's value is not the gateway's concern: it is dropped, whatever it holds.
  assert.equal(answer(200, { headers: { 'x-other': 'a\r\nb' } }).kind, 'allow');
});

test('the cache key separates routes and identity parts unambiguously, and holds no raw credential', () => {
  assert.notEqual(decisionKey('route-a', ['tok']), decisionKey('route-b', ['tok']));
  assert.notEqual(decisionKey('r', ['a:b', 'c']), decisionKey('r', ['a', 'b:c']));
  assert.notEqual(decisionKey('r1', ['x']), decisionKey('r', ['1x']));
  assert.equal(decisionKey('r', ['tok']), decisionKey('r', ['tok']));
  assert.ok(!decisionKey('r', ['secret-token']).includes('secret'));
});
