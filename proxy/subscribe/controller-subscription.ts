// The proxy's side of the stream: connect to the controller with the bearer token, say which version it serves,
// apply what arrives (one message at a time, in order), persist what was applied, ACK each version once it is on disk
// (or NACK it), and reconnect with jittered backoff whenever the connection is lost. The gateway keeps serving its current table
// throughout: nothing here ever unloads a table.
import type { Logger } from 'pino';
import WebSocket from 'ws';
import type { Gateway } from '../server/start-gateway.ts';
import { decodeFrame, encodeText, MAX_MESSAGE_BYTES } from '../table/stream-frames.ts';
import { controllerMessage, STREAM_SUBPROTOCOL, type DeltaMessage, type EndpointsMessage, type ProxyMessage, type TablePartMessage } from '../table/stream-protocol.ts';
import { TABLE_SCHEMA_VERSION } from '../table/table-schema.ts';
import { ApplyStallWindow } from './apply-stall-window.ts';
import { ReconnectBackoff } from './reconnect-backoff.ts';
import type { StreamCredentials } from './stream-credentials.ts';
import { TableAssembler } from './table-assembler.ts';
import type { TableFile } from './table-file.ts';

export interface SubscriptionOptions {
  /** ws:// or wss:// URL of a controller replica's stream port. */
  url: string;
  /** Asked at every connection attempt, so a rotated token or CA is used from the next reconnect on. */
  credentials: () => Promise<StreamCredentials>;
  name: string;
  gateway: Gateway;
  logger: Logger;
  tableFile?: TableFile;
  backoff?: ReconnectBackoff;
  /** No message or ping from the controller for this long: the connection is dead (half-open TCP). */
  silenceMs?: number;
}

export class ControllerSubscription {
  readonly #opts: SubscriptionOptions;
  readonly #log: Logger;
  readonly #backoff: ReconnectBackoff;
  readonly #assembler = new TableAssembler();
  #socket: WebSocket | undefined;
  #queue: Promise<void> = Promise.resolve();
  #retryTimer: NodeJS.Timeout | undefined;
  #silenceTimer: NodeJS.Timeout | undefined;
  #closed = false;
  /** Event-loop delay while a table change is received, applied and persisted (what the 50 ms stall budget is about). */
  readonly #stall: ApplyStallWindow;
  /** The table file write the last applied change started, if any: the stall window lasts until it is done. */
  #persisting: Promise<void> | undefined;
  /** ACKs and NACKs in the order of the versions they answer: an ACK waits for its version's table file write. */
  #replies: Promise<void> = Promise.resolve();
  /** Connections opened, for logs and tests. */
  connects = 0;

  constructor(opts: SubscriptionOptions) {
    this.#opts = opts;
    this.#log = opts.logger.child({ component: 'subscription' });
    this.#backoff = opts.backoff ?? new ReconnectBackoff();
    this.#stall = new ApplyStallWindow((seconds, cpuSeconds, whole) => opts.gateway.metrics.applyStalled(seconds, cpuSeconds, whole));
  }

  start(): void {
    this.#connect();
  }

  connected(): boolean {
    return this.#socket?.readyState === WebSocket.OPEN;
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#silenceTimer);
    this.#socket?.terminate();
    await this.#queue;
    await this.#replies;
    this.#stall.stop();
  }

  #connect(): void {
    if (this.#closed) return;
    this.#opts.credentials().then(
      (credentials) => this.#open(credentials),
      (err: unknown) => {
        this.#log.error({ err: err instanceof Error ? err.message : String(err) }, 'no stream credentials');
        this.#retryTimer = setTimeout(() => this.#connect(), this.#backoff.next());
      },
    );
  }

  #open(credentials: StreamCredentials): void {
    if (this.#closed) return;
    const socket = new WebSocket(this.#opts.url, STREAM_SUBPROTOCOL, {
      headers: { authorization: `Bearer ${credentials.token}` },
      perMessageDeflate: false,
      maxPayload: MAX_MESSAGE_BYTES,
      handshakeTimeout: 10_000,
      ...(credentials.ca && { ca: credentials.ca }),
    });
    this.#socket = socket;
    const alive = (): void => {
      clearTimeout(this.#silenceTimer);
      this.#silenceTimer = setTimeout(() => {
        this.#log.warn({ silenceMs: this.#opts.silenceMs ?? 45_000 }, 'controller silent: dropping the connection');
        socket.terminate();
      }, this.#opts.silenceMs ?? 45_000);
    };
    socket.on('unexpected-response', (_req, res) => {
      // 401/403/404 at the upgrade: say which, never echo the token.
      this.#log.warn({ status: res.statusCode, url: this.#opts.url }, 'controller refused the stream');
      res.resume();
      socket.terminate();
    });
    socket.on('open', () => {
      this.connects++;
      alive();
      this.#log.info({ url: this.#opts.url, serving: this.#opts.gateway.version() ?? null }, 'connected to the controller');
      this.#send({ type: 'hello', name: this.#opts.name, version: this.#opts.gateway.version() ?? null });
    });
    socket.on('ping', alive);
    socket.on('message', (data, isBinary) => {
      alive();
      this.#stall.begin();
      // In order, one at a time: a table part must not overtake the one before it.
      this.#queue = this.#queue
        .then(() => this.#receive(socket, data as Buffer, isBinary))
        .catch((err: unknown) => this.#log.error({ err: err instanceof Error ? err.message : String(err) }, 'message from the controller not handled'))
        .finally(() => {
          this.#stall.end(this.#persisting);
          this.#persisting = undefined;
        });
    });
    socket.on('error', (err) => this.#log.debug({ err: err.message }, 'stream error'));
    socket.on('close', (code) => {
      clearTimeout(this.#silenceTimer);
      this.#assembler.reset();
      if (this.#socket === socket) this.#socket = undefined;
      if (this.#closed) return;
      const delayMs = this.#backoff.next();
      this.#log.info({ code, retryInMs: delayMs, serving: this.#opts.gateway.version() ?? null }, 'stream closed; reconnecting');
      this.#retryTimer = setTimeout(() => this.#connect(), delayMs);
    });
  }

  async #receive(socket: WebSocket, data: Buffer, isBinary: boolean): Promise<void> {
    if (socket !== this.#socket) return; // from a connection already replaced
    let json: unknown;
    try {
      json = await decodeFrame(data, isBinary);
    } catch (err) {
      this.#log.warn({ err: (err as Error).message }, 'unreadable message from the controller');
      this.#assembler.reset();
      return;
    }
    const parsed = controllerMessage.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const error = `message refused: ${issue ? `${issue.path.map(String).join('.') || '(root)'}: ${issue.message}` : 'invalid'}`;
      this.#assembler.reset();
      const version = (json as { version?: unknown } | null)?.version;
      this.#log.warn({ error }, 'invalid message from the controller');
      if (typeof version === 'string' && version.length > 0 && version.length <= 200) this.#reply({ type: 'nack', version, error });
      return;
    }
    const message = parsed.data;
    if (message.type === 'table-part') await this.#onTablePart(message);
    else if (message.type === 'delta') await this.#onDelta(message);
    else if (message.type === 'fleet') this.#opts.gateway.setFleetSize(message.proxies);
    else this.#onEndpoints(message);
  }

  async #onTablePart(part: TablePartMessage): Promise<void> {
    const assembled = this.#assembler.add(part);
    if (assembled.kind === 'incomplete') return;
    if (assembled.kind === 'out-of-order') {
      this.#reply({ type: 'nack', version: part.version, error: assembled.error, resync: true });
      return;
    }
    if (assembled.schema !== TABLE_SCHEMA_VERSION) {
      const error = `table schema ${assembled.schema} is not supported by this proxy (it accepts schema ${TABLE_SCHEMA_VERSION})`;
      this.#log.error({ version: part.version, error, serving: this.#opts.gateway.version() ?? null }, 'routing table refused');
      this.#reply({ type: 'nack', version: part.version, error });
      return;
    }
    const started = performance.now();
    this.#stall.markWhole();
    const result = await this.#opts.gateway.applyTableSliced(assembled.table);
    this.#settled(part.version, result, performance.now() - started, false, (file) => file.recordTable(assembled.table));
  }

  async #onDelta(delta: DeltaMessage): Promise<void> {
    const started = performance.now();
    const result = await this.#opts.gateway.applyDelta(delta);
    // Whatever the reason (another base, an inconsistent delta), the whole table fixes it: ask for it.
    this.#settled(delta.version, result, performance.now() - started, true, (file) => file.recordChange(delta, () => this.#opts.gateway.table()));
  }

  #onEndpoints(message: EndpointsMessage): void {
    const result = this.#opts.gateway.applyEndpoints(message.baseVersion, message.version, message.backends);
    this.#settled(message.version, result, 0, this.#opts.gateway.version() !== message.baseVersion, (file) => file.recordChange(message, () => this.#opts.gateway.table()));
  }

  /**
   * `persist` records what was applied in the table file: the change itself, so its cost follows the change. The ACK
   * goes out once that write is done (successful or not: a failed write is logged, and the table is served either
   * way), so a version the controller counts as Programmed is one a restarted proxy serves without the controller.
   */
  #settled(version: string, result: { ok: true } | { ok: false; error: string }, applyMs: number, resync: boolean, persist: (file: TableFile) => Promise<void>): void {
    if (result.ok) {
      this.#backoff.reset();
      const written = this.#opts.tableFile ? persist(this.#opts.tableFile) : undefined;
      this.#persisting = written;
      this.#reply({ type: 'ack', version }, written);
      if (applyMs > 0) this.#log.debug({ version, applyMs: Math.round(applyMs) }, 'applied');
    } else {
      this.#reply({ type: 'nack', version, error: result.error, ...(resync && { resync: true }) });
    }
  }

  /**
   * Sends an ACK or NACK after every earlier one (a NACK must not overtake the ACK of the version before it: the
   * controller falls back to the last version ACKed), on the connection it answers: one replaced meanwhile gets none.
   */
  #reply(message: ProxyMessage, after?: Promise<void>): void {
    const socket = this.#socket;
    this.#replies = this.#replies
      .then(() => after?.catch(() => undefined))
      .then(() => {
        if (socket === this.#socket && socket?.readyState === WebSocket.OPEN) socket.send(encodeText(message));
      });
  }

  #send(message: ProxyMessage): void {
    const socket = this.#socket;
    if (socket?.readyState === WebSocket.OPEN) socket.send(encodeText(message));
  }
}
