// A loopback OTLP/HTTP traces receiver for tests: a plain node:http server taking POST /v1/traces with the JSON
// encoding (what @opentelemetry/exporter-trace-otlp-http sends), keeping each request's raw body and headers, and the
// spans flattened with their resource. It can answer with another status, or hold requests until released.
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

type AnyValue = { stringValue?: string; intValue?: number | string; doubleValue?: number; boolValue?: boolean };
interface KeyValue {
  key: string;
  value: AnyValue;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes?: KeyValue[];
  status?: { code?: number; message?: string };
}
interface ExportRequest {
  resourceSpans?: Array<{ resource?: { attributes?: KeyValue[] }; scopeSpans?: Array<{ scope?: { name?: string }; spans?: OtlpSpan[] }> }>;
}

/** One received span, attributes as plain values. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** "" for a root span. */
  parentSpanId: string;
  name: string;
  kind: number;
  startNs: bigint;
  endNs: bigint;
  statusCode: number;
  attributes: Record<string, string | number | boolean>;
  resource: Record<string, string | number | boolean>;
  scope: string;
}

export interface OtlpReceiver {
  /** The traces URL to give the gateway. */
  url: string;
  port: number;
  /** Export requests received: path, headers, raw body. */
  requests: Array<{ path: string; headers: IncomingHttpHeaders; body: string }>;
  spans: () => ReceivedSpan[];
  /** Answer every later export with this status (200 by default). */
  answerWith: (status: number) => void;
  /** Hold later export requests unanswered until release() (a collector that does not answer). */
  hold: () => void;
  release: () => void;
  close: () => Promise<void>;
}

function plain(values: KeyValue[] | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const { key, value } of values ?? []) {
    const v = value.stringValue ?? value.boolValue ?? value.doubleValue ?? (value.intValue === undefined ? undefined : Number(value.intValue));
    if (v !== undefined) out[key] = v;
  }
  return out;
}

/** On `port` (a collector coming back where one was down), or an ephemeral one. */
export async function startOtlpReceiver(port = 0): Promise<OtlpReceiver> {
  const requests: OtlpReceiver['requests'] = [];
  const spans: ReceivedSpan[] = [];
  let status = 200;
  let holding = false;
  const held: ServerResponse[] = [];
  const answer = (res: ServerResponse, code: number): void => {
    res.writeHead(code, { 'content-type': 'application/json' }).end(code === 200 ? '{}' : '{"code":3,"message":"refused by the test"}');
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      requests.push({ path: req.url ?? '', headers: req.headers, body });
      if (req.method === 'POST' && req.url === '/v1/traces' && status === 200) {
        const parsed = JSON.parse(body) as ExportRequest;
        for (const rs of parsed.resourceSpans ?? []) {
          const resource = plain(rs.resource?.attributes);
          for (const ss of rs.scopeSpans ?? []) {
            for (const s of ss.spans ?? []) {
              spans.push({
                traceId: s.traceId,
                spanId: s.spanId,
                parentSpanId: s.parentSpanId ?? '',
                name: s.name,
                kind: s.kind,
                startNs: BigInt(s.startTimeUnixNano),
                endNs: BigInt(s.endTimeUnixNano),
                statusCode: s.status?.code ?? 0,
                attributes: plain(s.attributes),
                resource,
                scope: ss.scope?.name ?? '',
              });
            }
          }
        }
      }
      if (holding) held.push(res);
      else answer(res, status);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const bound = (server.address() as AddressInfo).port;
  const release = (): void => {
    holding = false;
    for (const res of held.splice(0)) if (!res.destroyed) answer(res, status);
  };
  return {
    url: `http://127.0.0.1:${bound}/v1/traces`,
    port: bound,
    requests,
    spans: () => spans,
    answerWith: (code) => (status = code),
    hold: () => (holding = true),
    release,
    close: () =>
      new Promise<void>((resolve) => {
        release();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
