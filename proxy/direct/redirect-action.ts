// A route's redirect (Gateway API's RequestRedirect): Location is the request's URL with the configured parts
// replaced, query kept. Scheme defaults to the request's; the port to the request's (its Host header), or the
// scheme's well-known port when the scheme is set; a well-known port is left out of the URL.
import { compileRewrite } from '../forward/rewrite-path.ts';
import { clientResponseHeaders } from '../forward/upstream-response-headers.ts';
import { sendError } from '../server/error-response.ts';
import { hostForMatching } from '../server/host-header.ts';
import type { TableRedirect } from '../table/table-schema.ts';
import type { AnswerRequest, Answered, RouteAnswer } from './route-answer.ts';

const DEFAULT_PORT = { http: 80, https: 443 } as const;
/** A Host the Location may carry: a DNS name or an IP literal (never a path, userinfo or anything else). */
const HOST_RE = /^(?:[a-z0-9.-]+|\[[0-9a-f:.]+\])$/;

export function redirectAnswer(redirect: TableRedirect): RouteAnswer {
  const rewrite = compileRewrite(redirect.path);
  const status = redirect.statusCode;
  return {
    send(a: AnswerRequest): Answered {
      const hostHeader = a.req.headers.host;
      // Validated by the front door already (host-header.ts); "" for an HTTP/1.0 request without one (then 400).
      const requestHost = hostHeader === undefined ? '' : (hostForMatching(hostHeader) ?? '');
      const host = redirect.hostname ?? requestHost;
      if (!HOST_RE.test(host)) return { status: 400, bytesOut: sendError(a.res, 400, 'invalid host', a.requestId), error: 'invalid host' };
      const scheme = redirect.scheme ?? (a.req.socket.encrypted === true ? 'https' : 'http');
      const port = redirect.port ?? (redirect.scheme === undefined ? portOf(hostHeader, requestHost) : undefined);
      const authority = port === undefined || port === DEFAULT_PORT[scheme] ? host : `${host}:${port}`;
      const path = rewrite === null ? a.target.path : rewrite(a.target.path, a.params);
      const location = `${scheme}://${authority}${path}${a.target.query === '' ? '' : `?${a.target.query}`}`;
      const out = clientResponseHeaders({ location, 'content-length': '0' }, a.requestId, a.responseHeaders, a.policyHeaders, a.cors);
      try {
        a.res.writeHead(status, out);
      } catch {
        // A path Node will not put in a header (raw non-ASCII bytes): nothing was sent yet.
        return { status: 400, bytesOut: sendError(a.res, 400, 'path cannot be redirected', a.requestId), error: 'path cannot be redirected' };
      }
      a.res.end();
      return { status, bytesOut: 0, error: null };
    },
  };
}

/** The Host header's port, undefined when it names none (or not a number). */
function portOf(header: string | undefined, host: string): number | undefined {
  if (header === undefined || header.length <= host.length + 1) return undefined;
  const text = header.slice(host.length + 1);
  const port = Number(text);
  return /^\d{1,5}$/.test(text) && port >= 1 && port <= 65535 ? port : undefined;
}
