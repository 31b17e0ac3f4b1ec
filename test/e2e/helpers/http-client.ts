// A small HTTP client over node:http (fetch will not send a custom Host), always to 127.0.0.1, with a deadline.
import { request, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  json: <T = Record<string, unknown>>() => T;
}

export interface SendOptions {
  method?: string;
  headers?: OutgoingHttpHeaders;
  body?: string | Buffer;
  timeoutMs?: number;
}

export function send(port: number, path: string, opts: SendOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers: opts.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      res.on('end', () => {
        clearTimeout(timer);
        const body = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: <T>() => JSON.parse(body) as T });
      });
    });
    const timer = setTimeout(() => req.destroy(new Error(`no reply to ${path} in ${opts.timeoutMs ?? 10_000} ms`)), opts.timeoutMs ?? 10_000);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.end(opts.body);
  });
}

/** The body of an error the gateway produced, checked for its shape. */
export function errorBody(reply: Reply): { error: string; requestId: string } {
  if (!String(reply.headers['content-type']).startsWith('application/json')) throw new Error(`error reply is not JSON: ${reply.headers['content-type']}`);
  const body = reply.json<{ error: string; requestId: string }>();
  if (typeof body.error !== 'string' || typeof body.requestId !== 'string') throw new Error(`error body has the wrong shape: ${reply.body}`);
  if (reply.headers['x-request-id'] !== body.requestId) throw new Error('x-request-id header and body disagree');
  return body;
}
