// The bearer token (and the CA bundle, with wss) a proxy presents, read from their files at every connection attempt:
// a rotated Secret (kubelet swaps the mounted files) is picked up at the next reconnect, without a restart. A file that
// cannot be read, or a token file that became empty, keeps the last good value and says so once per problem.
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';

export interface StreamCredentials {
  token: string;
  ca?: Buffer;
}

export class CredentialFiles {
  readonly #tokenFile: string;
  readonly #caFile: string | undefined;
  readonly #log: Logger;
  #last: StreamCredentials;
  #lastProblem: string | undefined;

  private constructor(tokenFile: string, caFile: string | undefined, log: Logger, first: StreamCredentials) {
    this.#tokenFile = tokenFile;
    this.#caFile = caFile;
    this.#log = log;
    this.#last = first;
  }

  /** Reads both files once; at start a missing or empty file is an error, not something to fall back from. */
  static async open(tokenFile: string, caFile: string | undefined, log: Logger): Promise<CredentialFiles | string> {
    const first = await read(tokenFile, caFile);
    return typeof first === 'string' ? first : new CredentialFiles(tokenFile, caFile, log, first);
  }

  async current(): Promise<StreamCredentials> {
    const next = await read(this.#tokenFile, this.#caFile);
    if (typeof next === 'string') {
      if (next !== this.#lastProblem) this.#log.warn({ problem: next }, 'stream credentials not reloaded; using the last good ones');
      this.#lastProblem = next;
      return this.#last;
    }
    if (next.token !== this.#last.token || !sameBytes(next.ca, this.#last.ca)) this.#log.info('stream credentials changed on disk; using the new ones');
    this.#lastProblem = undefined;
    this.#last = next;
    return next;
  }
}

async function read(tokenFile: string, caFile: string | undefined): Promise<StreamCredentials | string> {
  let token: string;
  try {
    // A mounted Secret often ends with a newline; the token itself never does.
    token = (await readFile(tokenFile, 'utf8')).trim();
  } catch (err) {
    return `cannot read the token file ${tokenFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
  }
  if (token === '') return `${tokenFile} is empty`;
  if (caFile === undefined) return { token };
  try {
    return { token, ca: await readFile(caFile) };
  } catch (err) {
    return `cannot read the CA file ${caFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
  }
}

function sameBytes(a: Buffer | undefined, b: Buffer | undefined): boolean {
  return a === undefined || b === undefined ? a === b : a.equals(b);
}
