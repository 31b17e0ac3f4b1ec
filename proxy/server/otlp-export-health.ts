// How the span export is doing, for operators: Prometheus counts of spans exported, failed and dropped (queue full),
// the export queue's length, and a rate-limited log line when exports fail (collector down, refusing). Nothing here
// touches a request: the batch span processor reports into it from its own timer.
import { createNoopMeter, type Attributes, type Meter, type MeterProvider, type ObservableCallback } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from 'pino';

/** At most one failure line per this long; the next one counts the failures in between. */
const LOG_EVERY_MS = 60_000;

// The batch span processor's own instruments (OpenTelemetry's otel.sdk.processor.span.* semantic conventions): the
// only place that knows how many spans it dropped because its queue was full.
const PROCESSED = 'otel.sdk.processor.span.processed';
const QUEUE_SIZE = 'otel.sdk.processor.span.queue.size';
const QUEUE_FULL = 'queue_full';

export class OtlpExportHealth {
  readonly #spans: Counter<'result'>;
  readonly #logger: Logger;
  #queueCallback: ObservableCallback | null = null;
  #failures = 0;
  #failedSpans = 0;
  #lastLogged = -Infinity;
  #failing = false;

  constructor(registry: Registry, logger: Logger) {
    this.#logger = logger;
    this.#spans = new Counter({
      name: 'gatehouse_otlp_spans_total',
      help: 'Request spans handed to the OTLP exporter, by result: exported (the collector took them), failed (the export failed after its retries), dropped (the export queue was full)',
      labelNames: ['result'],
      registers: [registry],
    });
    for (const result of ['exported', 'failed', 'dropped']) this.#spans.inc({ result }, 0);
    const queueCallback = (): ObservableCallback | null => this.#queueCallback;
    new Gauge({
      name: 'gatehouse_otlp_queue_spans',
      help: 'Ended spans waiting in the export queue',
      registers: [registry],
      collect() {
        const callback = queueCallback();
        if (callback !== null) void callback({ observe: (value: number) => this.set(value) });
      },
    });
  }

  /**
   * The batch span processor's self-observability meter: its processed counter (error.type queue_full for drops, an
   * error name for failed exports, none for exported spans) and queue size feed the series above; anything else it
   * asks for is a no-op.
   */
  meterProvider(): MeterProvider {
    const spans = this.#spans;
    const noop = createNoopMeter();
    const meter = Object.create(noop) as Meter;
    meter.createCounter = ((name: string) => {
      if (name !== PROCESSED) return noop.createCounter(name);
      return {
        add(value: number, attributes?: Attributes) {
          const error = attributes?.['error.type'];
          spans.inc({ result: error === undefined ? 'exported' : error === QUEUE_FULL ? 'dropped' : 'failed' }, value);
        },
      };
    }) as Meter['createCounter'];
    meter.createObservableUpDownCounter = ((name: string) => {
      const instrument = noop.createObservableUpDownCounter(name);
      if (name !== QUEUE_SIZE) return instrument;
      return Object.assign(Object.create(instrument) as typeof instrument, {
        addCallback: (callback: ObservableCallback) => (this.#queueCallback = callback),
        removeCallback: () => (this.#queueCallback = null),
      });
    }) as Meter['createObservableUpDownCounter'];
    return { getMeter: () => meter };
  }

  /** `exporter`, reporting its failures here (logged at most once a minute) and its recovery after them. */
  reporting(exporter: SpanExporter): SpanExporter {
    return {
      export: (spans: ReadableSpan[], done: (result: ExportResult) => void) =>
        exporter.export(spans, (result) => {
          if (result.code === ExportResultCode.SUCCESS) this.#succeeded();
          else this.#failed(result.error, spans.length);
          done(result);
        }),
      shutdown: () => exporter.shutdown(),
      forceFlush: () => exporter.forceFlush?.() ?? Promise.resolve(),
    };
  }

  #failed(error: Error | undefined, spans: number): void {
    this.#failing = true;
    this.#failures++;
    this.#failedSpans += spans;
    const now = performance.now();
    if (now - this.#lastLogged < LOG_EVERY_MS) return;
    this.#lastLogged = now;
    // The error's code or status, never the request: the exporter's headers may hold the collector's credentials.
    this.#logger.warn({ error: describe(error), failedExports: this.#failures, failedSpans: this.#failedSpans }, 'OTLP span export failed; spans are dropped until the collector answers');
    this.#failures = 0;
    this.#failedSpans = 0;
  }

  #succeeded(): void {
    if (!this.#failing) return;
    this.#failing = false;
    this.#logger.info({ failedExportsSinceLastLine: this.#failures }, 'OTLP span export recovered');
    this.#failures = 0;
    this.#failedSpans = 0;
    this.#lastLogged = -Infinity;
  }
}

/** A network error's code (ECONNREFUSED), the collector's HTTP status, or the exporter's own short message. */
function describe(error: Error | undefined): string {
  if (error === undefined) return 'export failed';
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  if (typeof code === 'number') return `HTTP ${code}`;
  return error.message;
}
