// The upstream half of a handshake. Plain mode sends the client's upgrade request on (its key, protocols and
// extensions, so the upstream's 101 answers the client's own offer) over a new connection through Node's HTTP client,
// which parses the answer: a 101 hands over the socket, anything else is a failed handshake. Parsed mode opens a `ws`
// client instead (its own key; the client's protocols offered). Either way a failure becomes a status: refused or
// unreachable → 502, no answer in time → 504, an answer other than 101 → 502.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { connect as netConnect, type NetConnectOpts, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import WebSocket, { type ClientOptions } from 'ws';
import type { HeaderBag } from '../forward/header-changes.ts';
import { ejectsEndpoint, isConnectFailure, upstreamErrorKind } from '../forward/upstream-errors.ts';
import type { UpstreamEndpoint } from '../runtime/endpoint-pool.ts';

export type HandshakeFailure = {
  status: 502 | 504;
  error: string;
  /** For the access log: an error code, or "status <n>" for an answer other than 101. */
  cause: string;
  /** The endpoint never took the connection: passive health counts it, and another endpoint may be tried. */
  connectFailed: boolean;
  /** The endpoint refused or did not answer the SYN in time: it is ejected for a while. */
  ejects: boolean;
};

export interface UpgradeTarget {
  endpoint: UpstreamEndpoint;
  /** Path and query sent upstream. */
  path: string;
  headers: HeaderBag;
  /** Until the upstream's answer; connecting has the endpoint's own connect timeout. */
  timeoutMs: number;
}

export type PlainHandshake = { ok: true; socket: Socket; head: Buffer; response: IncomingMessage } | ({ ok: false } & HandshakeFailure);

function failure(err: Error & { code?: string }): HandshakeFailure {
  if (isConnectFailure(err)) return { status: 502, error: 'upstream unreachable', cause: err.code ?? err.name, connectFailed: true, ejects: ejectsEndpoint(err) };
  const error = upstreamErrorKind(err) === 'tls' ? 'upstream TLS handshake failed' : 'upstream connection failed';
  return { status: 502, error, cause: err.code ?? err.name, connectFailed: false, ejects: false };
}

const CONNECT_TIMEOUT = Object.assign(new Error('connect timeout'), { code: 'UND_ERR_CONNECT_TIMEOUT' });
const TIMEOUT: HandshakeFailure = { status: 504, error: 'upstream timeout', cause: 'handshake timeout', connectFailed: false, ejects: false };

/** Returns a cancel function (the client went away meanwhile). */
export function plainUpgrade(target: UpgradeTarget, done: (result: PlainHandshake) => void): () => void {
  const { endpoint } = target;
  const url = new URL(endpoint.origin);
  const tls = url.protocol === 'https:';
  let settled = false;
  const settle = (result: PlainHandshake): void => {
    if (settled) {
      if (result.ok) result.socket.destroy();
      return;
    }
    settled = true;
    clearTimeout(timer);
    clearTimeout(connectTimer);
    done(result);
  };
  const options: RequestOptions = {
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: Number(url.port) || (tls ? 443 : 80),
    method: 'GET',
    path: target.path,
    headers: { ...target.headers, connection: 'Upgrade', upgrade: 'websocket' },
    agent: false,
    // The pool's trust, SNI and name check: an upgrade is verified exactly as the backend's requests are.
    ...endpoint.tls?.connect,
  };
  const req = (tls ? httpsRequest : httpRequest)(options);
  const timer = setTimeout(() => {
    settle({ ok: false, ...TIMEOUT });
    req.destroy();
  }, target.timeoutMs);
  const connectTimer = setTimeout(() => {
    settle({ ok: false, ...failure(CONNECT_TIMEOUT) });
    req.destroy();
  }, endpoint.connectMs);
  req.on('socket', (socket: Socket) => {
    socket.once(tls ? 'secureConnect' : 'connect', () => clearTimeout(connectTimer));
  });
  req.on('upgrade', (response: IncomingMessage, socket: Socket, head: Buffer) => settle({ ok: true, socket, head, response }));
  req.on('response', (response: IncomingMessage) => {
    response.resume();
    settle({ ok: false, status: 502, error: 'upstream refused the websocket upgrade', cause: `status ${response.statusCode}`, connectFailed: false, ejects: false });
    req.destroy();
  });
  req.on('error', (err) => settle({ ok: false, ...failure(err) }));
  req.end();
  return () => {
    settled = true;
    clearTimeout(timer);
    clearTimeout(connectTimer);
    req.destroy();
  };
}

export type ParsedHandshake = { ok: true; socket: WebSocket } | ({ ok: false } & HandshakeFailure);

/** The upstream as a `ws` client: `maxPayload` bounds the messages it may send back. */
export function parsedUpgrade(target: UpgradeTarget, protocols: string[], maxPayload: number, done: (result: ParsedHandshake) => void): () => void {
  const { endpoint } = target;
  const url = endpoint.origin.replace(/^http/, 'ws') + target.path;
  let settled = false;
  const settle = (result: ParsedHandshake): void => {
    if (settled) return;
    settled = true;
    clearTimeout(connectTimer);
    done(result);
  };
  const tls = url.startsWith('wss:');
  const socket = new WebSocket(url, protocols, {
    headers: target.headers as Record<string, string>,
    perMessageDeflate: false,
    maxPayload,
    handshakeTimeout: target.timeoutMs,
    followRedirects: false,
    // The connection made here so the connect timeout stops once it is up (ws times the whole handshake only), with
    // the pool's trust, SNI and name check over whatever ws derived from the URL.
    createConnection: ((options: NetConnectOpts & TlsConnectionOptions) => {
      const conn = tls ? tlsConnect({ ...options, ...endpoint.tls?.connect }) : netConnect(options);
      conn.once(tls ? 'secureConnect' : 'connect', () => clearTimeout(connectTimer));
      return conn;
    }) as unknown as ClientOptions['createConnection'],
  });
  const connectTimer = setTimeout(() => {
    settle({ ok: false, ...failure(CONNECT_TIMEOUT) });
    socket.terminate();
  }, endpoint.connectMs);
  socket.on('open', () => settle({ ok: true, socket }));
  socket.on('unexpected-response', (req, response) => {
    response.resume();
    settle({ ok: false, status: 502, error: 'upstream refused the websocket upgrade', cause: `status ${response.statusCode}`, connectFailed: false, ejects: false });
    req.destroy();
  });
  socket.on('error', (err: Error & { code?: string }) => {
    if (settled) return;
    // ws's own handshake timeout has no code, only this message.
    if (err.message === 'Opening handshake has timed out') settle({ ok: false, ...TIMEOUT });
    else settle({ ok: false, ...failure(err) });
  });
  return () => {
    settled = true;
    clearTimeout(connectTimer);
    socket.terminate();
  };
}
