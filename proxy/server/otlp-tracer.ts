// OpenTelemetry spans of requests, exported over OTLP/HTTP (JSON) to a collector: docs/tracing.md.
// Loaded only when an endpoint is configured (start-gateway.ts imports it lazily): a gateway without one loads no
// OpenTelemetry code and pays one null check per request.
//
// One SERVER span per request, started before the upstream traceparent exists: its context (the client's trace id when
// the client sent a valid traceparent, else a new one; a new span id) IS the traceparent sent upstream, so the upstream's
// spans are its children and the access log's traceId is the exported span's. Ids come from trace-context.ts's pool.
//
// A span carries the access log's fields (but the byte counts, opt-in in the HTTP semantic conventions: each attribute
// is paid for per span, in the SDK and in the export) and nothing the access log leaves out: no headers, credentials,
// query strings or bodies.
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AlwaysOnSampler, BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler, TracerProvider } from '@opentelemetry/sdk-trace';
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVICE_INSTANCE_ID,
  ATTR_SERVICE_NAME,
  ATTR_SERVICE_VERSION,
  ATTR_URL_PATH,
  ATTR_URL_SCHEME,
} from '@opentelemetry/semantic-conventions';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { randomSpanId, randomTraceId, validTraceparent } from '../forward/trace-context.ts';
import type { TablePathMatch, TableRoute } from '../table/table-schema.ts';
import { OtlpExportHealth } from './otlp-export-health.ts';
import type { AccessLogLine } from './request-log.ts';

export interface OtlpTracingOptions {
  /** The collector's OTLP/HTTP traces URL, used as given: `http://collector:4318/v1/traces`. */
  endpoint: string;
  /** Share of new traces recorded and exported, 0 to 1 (default 1). A client's valid traceparent decides for its trace. */
  sample?: number;
  /** Sent with every export (a collector's credentials); never logged. */
  headers?: Readonly<Record<string, string>>;
  /** The resource's service.version and service.instance.id (the proxy's name). */
  serviceVersion?: string;
  serviceInstanceId?: string;
  /** Batching (the OpenTelemetry SDK's defaults: 5000 ms, 2048 spans, 512 per export); exports time out after exportTimeoutMs (10 s). */
  batchDelayMs?: number;
  maxQueueSize?: number;
  maxExportBatchSize?: number;
  exportTimeoutMs?: number;
}

/** What handleRequest needs from the tracer: the traceparent to send upstream, and the span to end (null: not sampled). */
export interface TracedRequest {
  traceparent: string;
  span: Span | null;
}

export const SERVICE_NAME = 'gatehouse-proxy';
/** At close, spans still queued get this long to reach the collector. */
const CLOSE_FLUSH_MS = 3_000;

export class RequestTracer {
  readonly #provider: TracerProvider;
  readonly #tracer: Tracer;
  readonly #agent: HttpAgent;

  constructor(options: OtlpTracingOptions, logger: Logger, registry: Registry) {
    const sample = options.sample ?? 1;
    if (!(sample >= 0 && sample <= 1)) throw new Error(`OTLP sample must be between 0 and 1, got ${sample}`);
    const url = new URL(options.endpoint);
    // Our own agent, so close() can end its keep-alive sockets (the exporter's shutdown leaves them open).
    this.#agent = url.protocol === 'https:' ? new HttpsAgent({ keepAlive: true, maxSockets: 2 }) : new HttpAgent({ keepAlive: true, maxSockets: 2 });
    const health = new OtlpExportHealth(registry, logger);
    const exporter = new OTLPTraceExporter({
      url: options.endpoint,
      headers: { ...options.headers },
      httpAgentOptions: () => this.#agent,
      ...(options.exportTimeoutMs !== undefined && { timeoutMillis: options.exportTimeoutMs }),
    });
    const processor = new BatchSpanProcessor({
      exporter: health.reporting(exporter),
      selfObsMeterProvider: health.meterProvider(),
      ...(options.batchDelayMs !== undefined && { scheduledDelayMillis: options.batchDelayMs }),
      ...(options.maxQueueSize !== undefined && { maxQueueSize: options.maxQueueSize }),
      ...(options.maxExportBatchSize !== undefined && { maxExportBatchSize: options.maxExportBatchSize }),
    });
    this.#provider = new TracerProvider({
      resource: resourceFromAttributes({
        [ATTR_SERVICE_NAME]: SERVICE_NAME,
        ...(options.serviceVersion !== undefined && { [ATTR_SERVICE_VERSION]: options.serviceVersion }),
        ...(options.serviceInstanceId !== undefined && { [ATTR_SERVICE_INSTANCE_ID]: options.serviceInstanceId }),
      }),
      // Parent-based: a client's sampled flag decides for its trace; the ratio decides for the traces this hop starts
      // (at 1, without hashing each trace id).
      sampler: new ParentBasedSampler({ root: sample >= 1 ? new AlwaysOnSampler() : new TraceIdRatioBasedSampler(sample) }),
      idGenerator: { generateTraceId: randomTraceId, generateSpanId: randomSpanId },
      spanProcessors: [processor],
    });
    this.#tracer = this.#provider.getTracer('gatehouse', options.serviceVersion);
  }

  /**
   * Starts the SERVER span of a request (at `startedAt`, performance.now()) and derives the traceparent sent upstream
   * from it. A continued trace keeps the client's flags (parent-based sampling followed its sampled bit); a new one
   * carries this hop's sampling decision.
   */
  start(sent: string | string[] | undefined, method: string, host: string, startedAt: number, scheme: 'http' | 'https'): TracedRequest {
    const valid = validTraceparent(sent);
    let parent: Context = ROOT_CONTEXT;
    if (valid !== null) {
      const traceFlags = parseInt(valid.slice(53, 55), 16);
      parent = trace.setSpanContext(ROOT_CONTEXT, { traceId: valid.slice(3, 35), spanId: valid.slice(36, 52), traceFlags, isRemote: true });
    }
    const span = this.#tracer.startSpan(method, { kind: SpanKind.SERVER, startTime: startedAt }, parent);
    const context = span.spanContext();
    const flags = valid !== null ? valid.slice(53, 55) : (context.traceFlags & 1) === 1 ? '01' : '00';
    const traceparent = `00-${context.traceId}-${context.spanId}-${flags}`;
    if (!span.isRecording()) return { traceparent, span: null };
    span.setAttribute(ATTR_HTTP_REQUEST_METHOD, method);
    span.setAttribute(ATTR_URL_SCHEME, scheme);
    if (host !== '') span.setAttribute(ATTR_SERVER_ADDRESS, host);
    return { traceparent, span };
  }

  /**
   * Ends a request's span now, with the fields of its access-log line (`e.path` has no query string). `route`: the
   * route that matched, null when none did.
   */
  end(span: Span, e: AccessLogLine, route: TableRoute | null): void {
    if (route !== null) {
      const template = routeTemplate(route.path);
      span.updateName(`${e.method} ${template}`);
      span.setAttribute(ATTR_HTTP_ROUTE, template);
    }
    span.setAttribute(ATTR_URL_PATH, e.path);
    span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, e.status);
    span.setAttribute('gatehouse.route', e.route);
    span.setAttribute('gatehouse.request_id', e.requestId);
    if (e.consumer !== null) span.setAttribute('gatehouse.consumer', e.consumer);
    if (e.upstream !== null) span.setAttribute('gatehouse.upstream', e.upstream);
    if (e.upstreamMs >= 0) span.setAttribute('gatehouse.upstream_ms', Math.round(e.upstreamMs * 1000) / 1000);
    // A failed request (HTTP's span status rules for servers): a 5xx, a response cut off after its status (an error at
    // 2xx/3xx), or the client gone (499, recorded but not the server's fault). A 4xx the gateway answered on purpose
    // (no route, credentials refused, rate limited) is not an error of the server.
    if (e.error !== null && (e.status >= 500 || e.status < 400 || e.status === 499)) {
      span.setAttribute(ATTR_ERROR_TYPE, e.error);
      if (e.status !== 499) span.setStatus({ code: SpanStatusCode.ERROR });
    } else if (e.status >= 500) {
      span.setAttribute(ATTR_ERROR_TYPE, String(e.status));
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
    span.end(performance.now());
  }

  /** Exports what is queued (bounded: a collector that does not answer does not hold the shutdown), then stops. */
  async close(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_FLUSH_MS)));
    try {
      await Promise.race([this.#provider.shutdown().catch(() => {}), bound]);
    } finally {
      clearTimeout(timer);
      this.#agent.destroy();
    }
  }
}

/** http.route: the matched route's path as declared, a template (`/users/{id}`) or `prefix*`; never the request's path. */
function routeTemplate(path: TablePathMatch): string {
  return path.type === 'prefix' ? `${path.value}*` : path.value;
}
