// Rotation without a restart: the stream token and TLS certificate files are re-read every few seconds, and a changed
// one is put to use for new connections (open ones are untouched). Polling the contents, not watching the files:
// a mounted Secret is updated by swapping a symlink (`..data`), which inotify-style watches on the file miss, and a
// content hash ignores mtime quirks. A file that is unreadable or invalid (a short token, bad PEM, a key that does not
// match the certificate — e.g. read half-way through a non-atomic update) is logged once and the current one kept;
// the next poll tries again. Each reload is counted (by kind and outcome) in the controller's metrics, never with
// anything from the files in its labels.
import { createHash, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';
import type { Logger } from 'pino';
import { StreamToken, type RotatingToken } from './stream-token.ts';

export interface TlsFiles {
  certFile: string;
  keyFile: string;
}

export interface TlsPem {
  cert: Buffer;
  key: Buffer;
}

export type CredentialKind = 'token' | 'tls';

/** What the reloader reports to the controller's metrics. */
export interface CredentialReloadMetrics {
  /** A credential of this kind was put in use: at start, and again on each successful reload. */
  loaded(kind: CredentialKind): void;
  /** A new file content (or a new way of failing to read it) was acted on: `ok` when it is now in use, `error` when refused. */
  reloaded(kind: CredentialKind, outcome: 'ok' | 'error'): void;
}

export interface CredentialReloaderOptions {
  tokenFile: string;
  /** The file's content at start (what `token` holds). */
  initialToken: string;
  token: RotatingToken;
  tls?: TlsFiles & { initial: TlsPem; apply: (pem: TlsPem) => void };
  intervalMs: number;
  logger: Logger;
  metrics?: CredentialReloadMetrics;
}

export class CredentialReloader {
  readonly #opts: CredentialReloaderOptions;
  readonly #log: Logger;
  /** Hash of the content last acted on (applied, or refused and logged), so each content is handled once. */
  #tokenSeen: string;
  #tlsSeen: string | undefined;
  #timer: NodeJS.Timeout | undefined;
  #checking: Promise<void> | undefined;
  /** When the certificate in use was loaded, and until when it is valid (for /debug/fleet). */
  certificate: { loadedAt: string; notAfter: string; fingerprint256: string } | undefined;

  constructor(opts: CredentialReloaderOptions) {
    this.#opts = opts;
    this.#log = opts.logger.child({ component: 'stream-credentials' });
    this.#tokenSeen = hash(opts.initialToken);
    opts.metrics?.loaded('token');
    if (opts.tls) {
      this.#tlsSeen = hash(opts.tls.initial.cert, opts.tls.initial.key);
      this.certificate = describeCertificate(opts.tls.initial.cert);
      opts.metrics?.loaded('tls');
    }
  }

  start(): void {
    this.#timer = setInterval(() => void this.check(), this.#opts.intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** One poll of both files (also what the timer runs). */
  check(): Promise<void> {
    this.#checking ??= Promise.all([this.#checkToken(), this.#checkTls()])
      .then(() => undefined)
      .finally(() => (this.#checking = undefined));
    return this.#checking;
  }

  async #checkToken(): Promise<void> {
    const path = this.#opts.tokenFile;
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      return this.#refuse('token', `unreadable:${(err as NodeJS.ErrnoException).code ?? ''}`, { path, error: (err as Error).message }, 'stream token file unreadable; keeping the current token');
    }
    const seen = hash(text);
    if (seen === this.#tokenSeen) return;
    this.#tokenSeen = seen;
    let next: StreamToken;
    try {
      next = StreamToken.parse(text, path);
    } catch (err) {
      this.#log.warn({ path, error: (err as Error).message }, 'new stream token refused; keeping the current token');
      this.#opts.metrics?.reloaded('token', 'error');
      return;
    }
    if (this.#opts.token.rotate(next)) this.#log.info({ path, ...this.#opts.token.state() }, 'stream token rotated: new connections need the new token');
    // A valid file is a successful reload even when it holds the token already in use (e.g. put back after a bad one).
    this.#opts.metrics?.reloaded('token', 'ok');
  }

  async #checkTls(): Promise<void> {
    const tls = this.#opts.tls;
    if (tls === undefined) return;
    let pem: TlsPem;
    try {
      pem = { cert: await readFile(tls.certFile), key: await readFile(tls.keyFile) };
    } catch (err) {
      return this.#refuse('tls', `unreadable:${(err as NodeJS.ErrnoException).code ?? ''}`, { error: (err as Error).message }, 'stream TLS files unreadable; keeping the current certificate');
    }
    const seen = hash(pem.cert, pem.key);
    if (seen === this.#tlsSeen) return;
    this.#tlsSeen = seen;
    let certificate: ReturnType<typeof describeCertificate>;
    try {
      createSecureContext({ cert: pem.cert, key: pem.key }); // throws on bad PEM and on a key that does not match
      certificate = describeCertificate(pem.cert);
      tls.apply(pem);
    } catch (err) {
      this.#log.warn({ certFile: tls.certFile, keyFile: tls.keyFile, error: (err as Error).message }, 'new stream TLS certificate refused; keeping the current one');
      this.#opts.metrics?.reloaded('tls', 'error');
      return;
    }
    this.certificate = certificate;
    this.#opts.metrics?.reloaded('tls', 'ok');
    this.#log.info({ certFile: tls.certFile, notAfter: certificate.notAfter, fingerprint256: certificate.fingerprint256 }, 'stream TLS certificate reloaded: new connections get it');
  }

  /** Logs and counts a read failure once per kind of failure (a file missing for a minute is one line, not thirty). */
  #refuse(what: CredentialKind, key: string, fields: Record<string, unknown>, message: string): void {
    const seen = `error:${key}`;
    if (what === 'token') {
      if (this.#tokenSeen === seen) return;
      this.#tokenSeen = seen;
    } else {
      if (this.#tlsSeen === seen) return;
      this.#tlsSeen = seen;
    }
    this.#log.warn(fields, message);
    this.#opts.metrics?.reloaded(what, 'error');
  }
}

function hash(...parts: Array<string | Buffer>): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(createHash('sha256').update(p).digest());
  return h.digest('hex');
}

function describeCertificate(cert: Buffer): { loadedAt: string; notAfter: string; fingerprint256: string } {
  const x509 = new X509Certificate(cert);
  return { loadedAt: new Date().toISOString(), notAfter: new Date(x509.validTo).toISOString(), fingerprint256: x509.fingerprint256 };
}
