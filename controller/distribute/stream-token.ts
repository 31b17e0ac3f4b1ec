// The shared bearer token of the stream (a Secret mounted into the controller and every proxy). Compared in
// constant time over equal-length digests, so neither the content nor the length leaks through timing.
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';

/** What the stream server asks of its token: does this Authorization header carry it? */
export interface TokenCheck {
  admits(authorization: string | undefined): boolean;
}

const MIN_LENGTH = 16;

export class StreamToken implements TokenCheck {
  readonly #digest: Buffer;

  private constructor(token: string) {
    this.#digest = digest(token);
  }

  static async fromFile(path: string): Promise<StreamToken> {
    return StreamToken.parse(await readFile(path, 'utf8'), path);
  }

  /** The token in a file's text; throws (naming the file, never quoting it) when it is too short. */
  static parse(text: string, path: string): StreamToken {
    // A mounted Secret often ends with a newline; the token itself never does.
    const token = text.trim();
    if (token.length < MIN_LENGTH) throw new Error(`the stream token in ${path} is shorter than ${MIN_LENGTH} characters`);
    return new StreamToken(token);
  }

  static fromValue(token: string): StreamToken {
    return new StreamToken(token);
  }

  /** True when the Authorization header is `Bearer <the token>`. */
  admits(authorization: string | undefined): boolean {
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization ?? '');
    const given = digest(match?.[1] ?? '');
    // Always compare, even without a header, so a missing token costs the same as a wrong one.
    return timingSafeEqual(given, this.#digest) && match !== null;
  }

  sameAs(other: StreamToken): boolean {
    return timingSafeEqual(this.#digest, other.#digest);
  }

  /** Never the token itself (logs, /debug pages, errors). */
  toJSON(): string {
    return '[redacted]';
  }
}

/**
 * The token, replaceable at run time (the Secret was rotated). The one it replaced is still admitted for
 * `graceMs`, so a proxy whose copy of the Secret is updated a little later than the controller's (each kubelet syncs
 * on its own schedule) can still reconnect meanwhile. Connections already open are never affected.
 */
export class RotatingToken implements TokenCheck {
  #current: StreamToken;
  #previous: { token: StreamToken; until: number } | undefined;
  #rotatedAt: number | undefined;
  readonly #graceMs: number;

  constructor(initial: StreamToken, graceMs: number) {
    this.#current = initial;
    this.#graceMs = graceMs;
  }

  /** False when `next` is the token already in use (the file was rewritten with the same content). */
  rotate(next: StreamToken, now = Date.now()): boolean {
    if (next.sameAs(this.#current)) return false;
    this.#previous = this.#graceMs > 0 ? { token: this.#current, until: now + this.#graceMs } : undefined;
    this.#current = next;
    this.#rotatedAt = now;
    return true;
  }

  admits(authorization: string | undefined): boolean {
    const current = this.#current.admits(authorization);
    const previous = this.#previous;
    if (previous !== undefined && Date.now() >= previous.until) this.#previous = undefined;
    // Both comparisons run whenever a previous token is in its grace period, whichever matches.
    const old = previous !== undefined && this.#previous !== undefined && previous.token.admits(authorization);
    return current || old;
  }

  /** When it last rotated and until when the previous token is admitted (no secrets: for /debug/fleet). */
  state(): { rotatedAt: string | null; previousAdmittedUntil: string | null } {
    const until = this.#previous !== undefined && Date.now() < this.#previous.until ? this.#previous.until : undefined;
    return { rotatedAt: this.#rotatedAt === undefined ? null : new Date(this.#rotatedAt).toISOString(), previousAdmittedUntil: until === undefined ? null : new Date(until).toISOString() };
  }

  toJSON(): string {
    return '[redacted]';
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
