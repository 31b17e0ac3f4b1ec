// node:http2 client sessions against the gateway's TLS port (the test's self-signed certificate is trusted), closed
// when the test ends, and a request helper that collects the answer with a deadline.
import { connect, type ClientHttp2Session, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import type { TestContext } from 'node:test';

export interface H2Reply {
  status: number;
  headers: IncomingHttpHeaders;
  trailers: IncomingHttpHeaders;
  body: string;
}

export async function h2session(t: TestContext, port: number, ca: Buffer): Promise<ClientHttp2Session> {
  const session = connect(`https://localhost:${port}`, { ca });
  session.on('error', () => {}); // a test that provokes a session error reads it from 'goaway'/'close'
  t.after(() => {
    if (!session.destroyed) session.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    session.once('connect', () => resolve());
    session.once('error', reject);
  });
  return session;
}

/** One request; `body` chunks are written in order, the stream ended after the last. */
export function h2request(session: ClientHttp2Session, headers: OutgoingHttpHeaders, body: Array<string | Buffer> = [], timeoutMs = 10_000): Promise<H2Reply> {
  return new Promise((resolve, reject) => {
    const stream = session.request(headers, { endStream: body.length === 0 });
    const timer = setTimeout(() => stream.close(), timeoutMs);
    let status = 0;
    let responseHeaders: IncomingHttpHeaders = {};
    let trailers: IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on('response', (h) => {
      status = Number(h[':status']);
      responseHeaders = h;
    });
    stream.on('trailers', (h) => (trailers = h));
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    stream.on('close', () => {
      clearTimeout(timer);
      if (status === 0) reject(new Error(`stream closed without a response (RST_STREAM code ${stream.rstCode})`));
      else resolve({ status, headers: responseHeaders, trailers, body: Buffer.concat(chunks).toString('utf8') });
    });
    for (const chunk of body) stream.write(chunk);
    if (body.length > 0) stream.end();
  });
}
