// The metrics the code registers, read from the registries themselves: a real gateway's (startGateway composes the
// gateway's, the authorizers' and the rate limits' metrics; with a Redis and an OTLP endpoint configured, so
// gatehouse_redis_up and the span-export metrics are registered) and the controller's. Both as metric names (what docs name: a histogram by its base name) and as the
// sample names a query can read (a histogram's <name>_bucket, _sum and _count, never <name> alone).
import { pino } from 'pino';
import { createControllerMetrics } from '../../controller/admin/controller-metrics.ts';
import { startGateway } from '../../proxy/server/start-gateway.ts';
import { refusedPort } from '../e2e/helpers/upstreams.ts';

export interface RegisteredMetrics {
  /** Metric names (a histogram's base name), proxy and controller. */
  metrics: Set<string>;
  /** Sample names a query can read, proxy and controller. */
  samples: Set<string>;
}

export async function registeredMetricNames(): Promise<RegisteredMetrics> {
  // Nothing listens on the Redis or the collector port: they are only configured so their metrics are registered.
  const unused = await refusedPort();
  const gateway = await startGateway({
    host: '127.0.0.1',
    port: 0,
    adminPort: 0,
    logger: pino({ level: 'silent' }),
    redis: { url: `redis://127.0.0.1:${unused}`, commandTimeoutMs: 100, connectTimeoutMs: 100 },
    tracing: { endpoint: `http://127.0.0.1:${unused}/v1/traces` },
  });
  try {
    const registered = [...gateway.metrics.registry.getMetricsAsArray(), ...createControllerMetrics().registry.getMetricsAsArray()];
    return { metrics: new Set(registered.map((m) => m.name)), samples: sampleNames(registered) };
  } finally {
    await gateway.close();
  }
}

function sampleNames(metrics: ReadonlyArray<{ name: string; type: unknown }>): Set<string> {
  const names = new Set<string>();
  for (const { name, type } of metrics) {
    // The type is prom-client's string at run time ('histogram'), whatever its typings say.
    if (String(type) === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(name + suffix);
    else {
      names.add(name);
      if (String(type) === 'summary') for (const suffix of ['_sum', '_count']) names.add(name + suffix);
    }
  }
  return names;
}
