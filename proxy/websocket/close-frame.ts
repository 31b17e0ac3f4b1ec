// The one frame the gateway writes itself in plain (piped) mode: a Close frame (RFC 6455 §5.5.1), masked towards the
// upstream (the gateway is its client) and unmasked towards the client. Everything else on a piped connection is the
// peers' own bytes; parsed connections let `ws` write their frames.
import { randomFillSync } from 'node:crypto';

/** Close codes the gateway sends (RFC 6455 §7.4.1). */
export const CLOSE = {
  normal: 1000,
  goingAway: 1001,
  policy: 1008,
  tooBig: 1009,
  internal: 1011,
} as const;

/** Longest reason a Close frame can carry: the control frame's 125 bytes minus the 2-byte code. */
const MAX_REASON = 123;

/** A reason cut to what fits, on a UTF-8 character boundary. */
export function closeReason(reason: string): Buffer {
  const bytes = Buffer.from(reason, 'utf8');
  if (bytes.length <= MAX_REASON) return bytes;
  let end = MAX_REASON;
  while (end > 0 && ((bytes[end] as number) & 0xc0) === 0x80) end--; // do not split a multi-byte character
  return bytes.subarray(0, end);
}

export function closeFrame(code: number, reason: string, masked: boolean): Buffer {
  const text = closeReason(reason);
  const length = 2 + text.length;
  const frame = Buffer.allocUnsafe(2 + (masked ? 4 : 0) + length);
  frame[0] = 0x88; // FIN + opcode 8
  frame[1] = (masked ? 0x80 : 0) | length;
  let at = 2;
  const payload = Buffer.allocUnsafe(length);
  payload.writeUInt16BE(code, 0);
  text.copy(payload, 2);
  if (masked) {
    const mask = randomFillSync(Buffer.allocUnsafe(4));
    mask.copy(frame, 2);
    at = 6;
    for (let i = 0; i < length; i++) (payload[i] as number) ^= mask[i & 3] as number;
  }
  payload.copy(frame, at);
  return frame;
}
