// One request forwarded upstream with undici's dispatch API: the response streams straight into the client
// socket with backpressure both ways, and every way it can end (upstream done, upstream error, timeout,
// client gone) ends it exactly once and releases the upstream connection.
import type { IncomingHttpHeaders } from 'node:http';
import type { Span } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import type { BackendTarget } from '../runtime/backend-target.ts';
import type { EjectionPolicy } from '../runtime/endpoint-health.ts';
import type { UpstreamEndpoint } from '../runtime/endpoint-pool.ts';
import type { RuntimeRoute } from '../runtime/runtime-types.ts';
import { sendError } from '../server/error-response.ts';
import type { GatewayRequest, GatewayResponse } from '../server/gateway-request.ts';
import type { AccessLog, AccessLogLine } from '../server/request-log.ts';
import type { RequestTracer } from '../server/otlp-tracer.ts';
import type { BodyCount } from './body-limit.ts';
import type { CacheFill } from '../cache/cache-fill.ts';
import { clientResponseHeaders, clientTrailers } from './upstream-response-headers.ts';
import { ClientBodyTimeoutError, ExchangeAbortedError, ejectsEndpoint, errorCode, isBodyTooLarge, isConnectFailure, isUpstreamTimeout, upstreamErrorKind } from './upstream-errors.ts';

/** What every exchange of one gateway shares. */
export interface ExchangeSettings {
  logger: Logger;
  accessLog: AccessLog;
  ejection: EjectionPolicy;
  /** Span export (otlp-tracer.ts); null when off. */
  tracer: RequestTracer | null;
}

/** undici reads `servername` per request (its types omit it): without it SNI would follow the Host header. */
export type UpstreamDispatchOptions = Dispatcher.DispatchOptions & { servername?: string | undefined };

export interface ExchangeInit {
  req: GatewayRequest;
  res: GatewayResponse;
  route: RuntimeRoute;
  backend: BackendTarget;
  endpoint: UpstreamEndpoint;
  requestId: string;
  /** The client's path (no query), for the log. */
  path: string;
  /** Retries left for connect failures; 0 unless the request is idempotent and has no body. */
  retries: number;
  dispatch: UpstreamDispatchOptions;
  startedAt: number;
  /** The authenticated consumer's name, for the access log; null when the route authenticates no one. */
  consumer: string | null;
  /** Response headers the route's policies add (the RateLimit fields), over the upstream's. */
  policyHeaders: Array<[string, string]> | null;
  /** The traceparent sent upstream (trace-context.ts), for the access log's trace id. */
  traceparent: string;
  /** The request's span when tracing is on and the request sampled; ended with the access log's fields. */
  span: Span | null;
  /** The request body's bytes read so far (the body iterable counts them); null without a body. */
  bodyRead: BodyCount | null;
  /** A cache miss: records the answer as it streams (proxy/cache/cache-fill.ts); null otherwise. */
  fill: CacheFill | null;
}

const WAITING = 0; // dispatched, no response headers yet: an error can still become a status
const STREAMING = 1; // headers sent to the client: an error can only cut the connection
const DONE = 2;

const CLIENT_GONE = new ExchangeAbortedError('client closed the connection');
const REQUEST_TIMEOUT = new ExchangeAbortedError('request timeout');
const BODY_TIMEOUT = new ClientBodyTimeoutError('request body timeout');

export class ProxyExchange implements Dispatcher.DispatchHandler {
  private readonly init: ExchangeInit;
  private readonly settings: ExchangeSettings;
  private endpoint: UpstreamEndpoint;
  private retries: number;
  private controller: Dispatcher.DispatchController | null = null;
  private state = WAITING;
  private status = 0;
  private dispatchedAt = 0;
  /** Time in failed attempts that were retried, ms: the upstream's time, not the gateway's. */
  private retriedMs = 0;
  /** Dispatch to response headers, ms; -1 until they arrive. */
  private upstreamMs = -1;
  private bytesOut = 0;
  private timer: NodeJS.Timeout | null = null;
  private drainPending = false;

  constructor(init: ExchangeInit, settings: ExchangeSettings) {
    this.init = init;
    this.settings = settings;
    this.endpoint = init.endpoint;
    this.retries = init.retries;
  }

  start(): void {
    this.init.res.on('close', this.onClientClose);
    this.timer = setTimeout(requestTimedOut, this.init.route.route.timeouts.requestMs, this);
    this.dispatch();
  }

  private dispatch(): void {
    this.controller = null;
    this.dispatchedAt = performance.now();
    this.endpoint.pool.dispatch(this.init.dispatch, this);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    // Ended while queued for a connection (client gone, timeout): do not send it at all.
    if (this.state === DONE) controller.abort(CLIENT_GONE);
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    // An interim response (102 Processing, 103 Early Hints): undici reports it, then the final one. Not passed on.
    if (statusCode < 200) return;
    if (this.state !== WAITING) {
      controller.abort(CLIENT_GONE);
      return;
    }
    this.endpoint.health.succeeded();
    const upstreamMs = performance.now() - this.dispatchedAt;
    this.upstreamMs = upstreamMs;
    this.init.route.metrics.upstreamResponded(upstreamMs / 1000);
    const res = this.init.res;
    try {
      res.writeHead(statusCode, clientResponseHeaders(headers, this.init.requestId, this.init.route.responseHeaders, this.init.policyHeaders, this.init.route.cors !== null));
    } catch (err) {
      // A header value Node refuses to send (the upstream's or the route's): nothing has been written yet.
      // Answer first: the abort reports back through onResponseError, which must find the exchange done.
      this.init.route.metrics.upstreamFailed('protocol');
      this.fail(502, 'invalid upstream response', err as Error);
      controller.abort(err as Error);
      return;
    }
    this.state = STREAMING;
    this.status = statusCode;
    this.init.fill?.start(statusCode, headers);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.state !== STREAMING) return;
    this.bytesOut += chunk.length;
    this.init.fill?.data(chunk);
    // Backpressure: stop reading the upstream while the client's socket is full.
    if (!this.init.res.write(chunk)) {
      controller.pause();
      if (!this.drainPending) {
        this.drainPending = true;
        this.init.res.once('drain', this.onDrain);
      }
    }
  }

  onResponseEnd(_controller: Dispatcher.DispatchController, trailers: IncomingHttpHeaders | undefined): void {
    if (this.state !== STREAMING) return;
    this.state = DONE;
    this.clearTimer();
    this.init.fill?.end(trailers);
    const forwarded = clientTrailers(trailers);
    if (forwarded !== null) this.init.res.addTrailers(forwarded);
    this.init.res.end();
    this.finish(this.status, undefined);
  }

  onResponseError(_controller: Dispatcher.DispatchController | null, err: Error): void {
    if (this.state === DONE) return; // we ended it (client gone, timeout) and already answered
    const metrics = this.init.route.metrics;
    if (this.state === STREAMING) {
      metrics.upstreamFailed(upstreamErrorKind(err));
      this.state = DONE;
      this.clearTimer();
      this.init.res.destroy();
      this.finish(this.status, err);
      return;
    }
    if (isConnectFailure(err)) {
      metrics.upstreamFailed(upstreamErrorKind(err));
      const now = performance.now();
      if (ejectsEndpoint(err)) this.endpoint.health.connectFailed(now, this.settings.ejection);
      if (this.retries > 0) {
        const next = this.init.backend.next(now);
        if (next !== undefined) {
          this.retries--;
          this.retriedMs += now - this.dispatchedAt;
          this.endpoint = next;
          this.dispatch();
          return;
        }
      }
      this.fail(502, 'upstream unreachable', err);
    } else if (isUpstreamTimeout(err)) {
      metrics.upstreamFailed(upstreamErrorKind(err));
      this.fail(504, 'upstream timeout', err);
    } else if (isBodyTooLarge(err)) {
      this.fail(413, 'request body too large', err);
    } else if (this.init.req.socket?.destroyed !== false) {
      // The request body broke because the client went away mid-upload: nobody to answer. (The request stream alone
      // being destroyed says nothing: undici destroys the body it streams when the upstream fails under it.)
      this.state = DONE;
      this.clearTimer();
      this.finish(499, err);
    } else {
      const kind = upstreamErrorKind(err);
      metrics.upstreamFailed(kind);
      // A certificate that does not verify is not retried: another endpoint of the backend has the same settings.
      this.fail(502, kind === 'tls' ? 'upstream TLS handshake failed' : 'upstream connection failed', err);
    }
  }

  private readonly onDrain = (): void => {
    this.drainPending = false;
    this.controller?.resume();
  };

  /** The client socket closed: before we finished, it means the client went away, so stop the upstream too. */
  private readonly onClientClose = (): void => {
    if (this.state === DONE) return;
    this.state = DONE;
    this.clearTimer();
    this.abortUpstream(CLIENT_GONE);
    this.finish(499, CLIENT_GONE);
  };

  timedOut(): void {
    this.timer = null;
    if (this.state === DONE) return;
    this.init.route.metrics.upstreamFailed('request_timeout');
    if (this.state === WAITING) this.fail(504, 'upstream timeout', REQUEST_TIMEOUT);
    else {
      this.state = DONE;
      this.init.res.destroy();
      this.finish(this.status, REQUEST_TIMEOUT);
    }
    this.abortUpstream(REQUEST_TIMEOUT);
  }

  /** The client paused its body past the body timeout (client-timeouts.ts): 408 if nothing was answered yet. */
  clientBodyTimedOut(): void {
    if (this.state === WAITING) this.fail(408, 'request body timeout', BODY_TIMEOUT);
    else if (this.state === STREAMING) {
      this.state = DONE;
      this.clearTimer();
      this.init.res.destroy();
      this.finish(this.status, BODY_TIMEOUT);
    } else {
      // Answered already, the rest of the body still trickling in: nothing left to wait for.
      this.init.req.destroy();
      return;
    }
    this.abortUpstream(BODY_TIMEOUT);
  }

  private fail(status: number, error: string, cause: Error): void {
    this.state = DONE;
    this.clearTimer();
    // If the client may still be sending its body, close after the answer rather than read and discard the rest.
    this.bytesOut += sendError(this.init.res, status, error, this.init.requestId, this.init.req.complete ? undefined : CLOSE);
    this.finish(status, cause);
  }

  private abortUpstream(reason: Error): void {
    const controller = this.controller;
    if (controller !== null && !controller.aborted) controller.abort(reason);
  }

  private clearTimer(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }

  private finish(status: number, err: Error | undefined): void {
    const init = this.init;
    // Every ending passes here; after a clean end() this does nothing.
    init.fill?.abort();
    // The gateway's own time ends at the last dispatch; from there on it is the upstream's (and the client's).
    init.route.metrics.requestDone(init.dispatch.method, status, (this.dispatchedAt - init.startedAt - this.retriedMs) / 1000);
    const log = this.settings.accessLog;
    const logged = log.wants(status);
    const span = init.span;
    if (!logged && span === null) return;
    const line: AccessLogLine = {
      requestId: init.requestId,
      method: init.dispatch.method,
      path: init.path,
      route: init.route.route.id,
      status,
      traceparent: init.traceparent,
      consumer: init.consumer,
      upstream: this.endpoint.address,
      upstreamMs: this.upstreamMs,
      bytesIn: init.bodyRead === null ? 0 : init.bodyRead.bytes,
      bytesOut: this.bytesOut,
      error: err === undefined ? null : errorCode(err),
    };
    if (logged) log.write(line, init.startedAt);
    if (span !== null) this.settings.tracer?.end(span, line, init.route.route);
  }
}

const CLOSE = { connection: 'close' };

function requestTimedOut(exchange: ProxyExchange): void {
  exchange.timedOut();
}
