// The pieces of plain-mode forwarding and the limits that are pure logic: frame boundaries read from headers (in any
// chunking), the gateway's Close frame, the per-connection message rate and the connection deadlines (mock timers).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeFrame, closeReason } from '../../proxy/websocket/close-frame.ts';
import { ConnectionDeadlines, type DeadlineReason } from '../../proxy/websocket/connection-deadlines.ts';
import { FrameBoundaries } from '../../proxy/websocket/frame-boundaries.ts';
import { MessageRate } from '../../proxy/websocket/message-limits.ts';

/** A frame as a peer would send it: FIN, opcode, optional mask, 7/16/64-bit lengths. */
function frame(opcode: number, payload: Buffer, masked: boolean): Buffer {
  const n = payload.length;
  const len = n < 126 ? Buffer.from([n]) : n < 65536 ? Buffer.from([126, n >> 8, n & 255]) : Buffer.concat([Buffer.from([127]), (() => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(n)); return b; })()]);
  len[0] = (len[0] as number) | (masked ? 0x80 : 0);
  const mask = masked ? Buffer.from([1, 2, 3, 4]) : Buffer.alloc(0);
  const body = Buffer.from(payload);
  if (masked) for (let i = 0; i < body.length; i++) (body[i] as number) ^= mask[i & 3] as number;
  return Buffer.concat([Buffer.from([0x80 | opcode]), len, mask, body]);
}

test('frame boundaries: found in any chunking, for 7-, 16- and 64-bit lengths, masked or not; a Close frame\'s code is read', () => {
  const close = Buffer.alloc(6);
  close.writeUInt16BE(4001, 0);
  close.write('bye!', 2);
  const frames = [frame(1, Buffer.from('hi'), true), frame(2, Buffer.alloc(300, 7), false), frame(2, Buffer.alloc(70_000, 9), true), frame(8, close, true)];
  const stream = Buffer.concat(frames);
  const ends = new Set<number>();
  let at = 0;
  for (const f of frames) ends.add((at += f.length));
  for (const size of [1, 2, 3, 7, 100, 65_536, stream.length]) {
    const fb = new FrameBoundaries();
    for (let i = 0; i < stream.length; i += size) {
      fb.feed(stream.subarray(i, i + size));
      const end = Math.min(i + size, stream.length);
      assert.equal(fb.atBoundary, ends.has(end), `chunk size ${size}, after byte ${end}`);
    }
    assert.equal(fb.closeCode, 4001);
  }
  // stopAtBoundary returns where the frame in flight ends.
  const fb = new FrameBoundaries();
  assert.equal(fb.feed(stream.subarray(0, 3)), 3);
  assert.equal(fb.feed(stream.subarray(3, 50), true), (frames[0] as Buffer).length - 3);
  assert.equal(new FrameBoundaries().feed(stream, true), 0, 'already at a boundary');
  const empty = new FrameBoundaries();
  empty.feed(frame(8, Buffer.alloc(0), false));
  assert.equal(empty.closeCode, 1005, 'a Close frame without a code');
});

test('the Close frame: code and reason, masked towards the upstream, the reason cut on a character boundary', () => {
  const plain = closeFrame(1001, 'route removed', false);
  assert.deepEqual([...plain.subarray(0, 4)], [0x88, 15, 0x03, 0xe9]);
  assert.equal(plain.subarray(4).toString(), 'route removed');
  const masked = closeFrame(1001, 'route removed', true);
  assert.equal(masked[1], 0x80 | 15);
  const fb = new FrameBoundaries();
  fb.feed(masked);
  assert.equal(fb.closeCode, 1001);
  assert.ok(fb.atBoundary);
  const long = closeReason('é'.repeat(100));
  assert.ok(long.length <= 123);
  assert.equal(long.toString('utf8'), 'é'.repeat(61));
});

test('message rate: a second\'s worth at once, then that many a second', () => {
  const rate = new MessageRate(5, 0);
  for (let i = 0; i < 5; i++) assert.ok(rate.take(0));
  assert.equal(rate.take(0), false);
  assert.equal(rate.take(100), false, '0.5 of a message after 100 ms');
  assert.ok(rate.take(200), 'one after 200 ms');
  assert.equal(rate.take(200), false);
  for (let i = 0; i < 5; i++) assert.ok(rate.take(60_000), 'full again, never above a second\'s worth');
  assert.equal(rate.take(60_000), false);
});

test('deadlines: idle re-armed by activity, maximum duration, expiry only when before the maximum', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
  const clock = { now: 0 };
  t.mock.method(performance, 'now', () => clock.now);
  const advance = (ms: number): void => {
    clock.now += ms;
    t.mock.timers.tick(ms);
  };
  const fired: DeadlineReason[] = [];
  const d = new ConnectionDeadlines({ idleMs: 1_000, maxDurationMs: 10_000, expiresAt: 1_000_000 + 5_000 }, (why) => fired.push(why));
  advance(800);
  d.touch();
  advance(800); // 1.6 s since start, 0.8 s since the touch: not idle
  assert.equal(fired.length, 0);
  advance(300);
  assert.deepEqual(fired.map((f) => f.reason), ['idle timeout']);
  advance(3_200); // 5 s: the credential expires
  assert.deepEqual(fired.map((f) => f.reason), ['idle timeout', 'credential expired']);
  advance(5_000);
  assert.deepEqual(fired.map((f) => f.code), [1001, 1008, 1001]);
  d.stop();
  const late: DeadlineReason[] = [];
  const e = new ConnectionDeadlines({ idleMs: 100_000, maxDurationMs: 1_000, expiresAt: Date.now() + 5_000 }, (why) => late.push(why));
  advance(10_000);
  assert.deepEqual(late.map((f) => f.reason), ['maximum connection duration reached'], 'an expiry after the maximum never fires');
  e.stop();
});
