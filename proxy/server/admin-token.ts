// The bearer token the admin port's state-changing endpoints (cache purge) require (--admin-token-file). The file is
// read on every such request, so a rotated token applies without a restart; requests are rare. Compared in constant
// time (digests of equal length), and never logged.
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';

export type TokenCheck = 'ok' | 'missing' | 'wrong' | 'unavailable';

export class AdminToken {
  readonly #file: string;

  constructor(file: string) {
    this.#file = file;
  }

  /** Reads the file once: a missing or empty token file stops the start with this error. */
  static async open(file: string): Promise<AdminToken | string> {
    const token = await readToken(file);
    if (token === null) return `--admin-token-file: cannot read a token from ${file}`;
    return new AdminToken(file);
  }

  async check(authorization: string | undefined): Promise<TokenCheck> {
    const given = bearer(authorization);
    if (given === null) return 'missing';
    const expected = await readToken(this.#file);
    // Fail closed: no readable token, no purge.
    if (expected === null) return 'unavailable';
    return timingSafeEqual(digest(given), digest(expected)) ? 'ok' : 'wrong';
  }
}

async function readToken(file: string): Promise<string | null> {
  try {
    const token = (await readFile(file, 'utf8')).trim();
    return token === '' ? null : token;
  } catch {
    return null;
  }
}

function bearer(authorization: string | undefined): string | null {
  if (authorization === undefined) return null;
  const m = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization);
  return m ? (m[1] as string) : null;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
