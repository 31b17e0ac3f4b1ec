// The shared bearer token of the stream (a Secret mounted into the controller and every proxy). Compared in
// constant time over equal-length digests, so neither the content nor the length leaks through timing.
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';

export class StreamToken {
  readonly #digest: Buffer;

  private constructor(token: string) {
    this.#digest = digest(token);
  }

  static async fromFile(path: string): Promise<StreamToken> {
    // A mounted Secret often ends with a newline; the token itself never does.
    const token = (await readFile(path, 'utf8')).trim();
    if (token.length < 16) throw new Error(`the stream token in ${path} is shorter than 16 characters`);
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

  /** Never the token itself (logs, /debug pages, errors). */
  toJSON(): string {
    return '[redacted]';
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
