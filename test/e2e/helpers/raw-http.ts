// HTTP/1.1 on a raw socket, for the front-door tests: bytes no well-behaved client sends (two Host headers, a
// pipelined malformed request, a body that stops), and the exact bytes the gateway sends back, split into responses.
import { connect, type Socket } from 'node:net';

export interface RawConnection {
  socket: Socket;
  /** Everything received so far (latin1, one char per byte). */
  received: () => string;
  /** Settles when the server closes the connection, with everything received and when (performance.now()). */
  closed: Promise<{ text: string; at: number }>;
  write: (text: string) => void;
}

/** Opens a connection to the gateway; `deadlineMs` bounds it (the socket is destroyed then, and `closed` settles). */
export async function openRaw(port: number, deadlineMs = 10_000): Promise<RawConnection> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let text = '';
  socket.setEncoding('latin1');
  socket.on('data', (d: string) => (text += d));
  socket.on('error', () => {});
  const timer = setTimeout(() => socket.destroy(), deadlineMs);
  const closed = new Promise<{ text: string; at: number }>((resolve) =>
    socket.once('close', () => {
      clearTimeout(timer);
      resolve({ text, at: performance.now() });
    }),
  );
  return { socket, received: () => text, closed, write: (t) => void socket.write(t, 'latin1') };
}

/** Writes `text` and returns everything the server sent until it closed the connection. */
export async function rawExchange(port: number, text: string, deadlineMs = 10_000): Promise<string> {
  const conn = await openRaw(port, deadlineMs);
  conn.write(text);
  return (await conn.closed).text;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Splits the bytes of a connection into its responses, in order (1xx interim responses included, as responses of their
 * own), reading Content-Length and chunked bodies. Throws on anything that is not a whole response, so stray bytes
 * between or inside responses fail the test.
 */
export function splitResponses(text: string): RawResponse[] {
  const out: RawResponse[] = [];
  let at = 0;
  while (at < text.length) {
    const headEnd = text.indexOf('\r\n\r\n', at);
    if (headEnd === -1) throw new Error(`incomplete response head at byte ${at}: ${JSON.stringify(text.slice(at, at + 200))}`);
    const [statusLine, ...lines] = text.slice(at, headEnd).split('\r\n');
    const m = /^HTTP\/1\.1 (\d{3}) /.exec(statusLine ?? '');
    if (m === null) throw new Error(`not a status line at byte ${at}: ${JSON.stringify(statusLine)}`);
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
    }
    const status = Number(m[1]);
    at = headEnd + 4;
    let body = '';
    if (status >= 200 && status !== 204 && status !== 304) {
      if (headers['content-length'] !== undefined) {
        const length = Number(headers['content-length']);
        if (text.length < at + length) throw new Error(`body cut short: ${text.length - at} of ${length} bytes`);
        body = text.slice(at, at + length);
        at += length;
      } else if (headers['transfer-encoding'] === 'chunked') {
        for (;;) {
          const lineEnd = text.indexOf('\r\n', at);
          if (lineEnd === -1) throw new Error('chunked body cut short');
          const size = parseInt(text.slice(at, lineEnd), 16);
          at = lineEnd + 2;
          if (size === 0) {
            at += 2;
            break;
          }
          body += text.slice(at, at + size);
          at += size + 2;
        }
      } else {
        body = text.slice(at);
        at = text.length;
      }
    }
    out.push({ status, headers, body });
  }
  return out;
}
