// The host a request is for, as the router matches it, and the checks nginx makes on it: one Host header, a valid
// host[:port], required on HTTP/1.1 (HTTP/1.0 may omit it and is served by routes for any host); an absolute-form
// target's authority wins over Host (RFC 9112 §3.2.2). Every request goes through here, so it is a character loop,
// no regex and no URL parse. docs/http-front-door.md.
import type { GatewayRequest } from './gateway-request.ts';

/** Why a request's host is refused (always 400); shared frozen objects, so a refusal allocates nothing. */
export interface HostProblem {
  readonly error: string;
}

const MISSING: HostProblem = Object.freeze({ error: 'missing host header' });
const DUPLICATE: HostProblem = Object.freeze({ error: 'more than one host header' });
const INVALID: HostProblem = Object.freeze({ error: 'invalid host header' });

/**
 * The host to match routes with (lower-case, no port, no trailing dot; "" when an HTTP/1.0 request has none), or why
 * the request is refused. With an absolute-form target, `authority` (already validated by the URL parser) replaces
 * the Host header on the request itself, so the upstream's Host and X-Forwarded-Host are the target's too.
 */
export function requestHost(req: GatewayRequest, authority: string | null): string | HostProblem {
  // Node keeps the first of several Host headers and drops the rest silently; a proxy in front may have used another.
  if (moreThanOneHost(req.rawHeaders)) return DUPLICATE;
  if (authority !== null) {
    req.headers.host = authority;
    return hostForMatching(authority) ?? INVALID;
  }
  const value = req.headers.host;
  if (value === undefined) return req.httpVersionMajor === 1 && req.httpVersionMinor === 1 ? MISSING : '';
  return hostForMatching(value) ?? INVALID;
}

/** Whether the request's header lines name Host more than once (any case). */
function moreThanOneHost(raw: readonly string[]): boolean {
  let seen = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length !== 4 || (name !== 'Host' && name !== 'host' && name.toLowerCase() !== 'host')) continue;
    if (seen) return true;
    seen = true;
  }
  return false;
}

/**
 * A Host value checked and reduced to what routes are matched on: "API.Example.com.:8080" → "api.example.com",
 * "[::1]:80" → "[::1]"; null when it is not a host[:port]. A name is letters, digits, "-", "_" and dots, with no
 * empty label (nginx's rule, which also refuses "/", "\" and NUL); an IPv6 literal is hex digits, ":" and "."
 * in brackets; a port is 1 to 5 digits up to 65535. One trailing dot (the DNS root) is ignored for matching.
 */
export function hostForMatching(value: string): string | null {
  const length = value.length;
  if (length === 0) return null;
  let upper = false;
  let end = length; // where the host ends (a ":" before the port, or the end)
  if (value.charCodeAt(0) === 91 /* [ */) {
    const close = value.indexOf(']');
    if (close < 2) return null;
    for (let i = 1; i < close; i++) {
      const c = value.charCodeAt(i);
      if (c >= 65 && c <= 70) upper = true;
      else if (!((c >= 48 && c <= 58) /* 0-9 : */ || (c >= 97 && c <= 102) || c === 46)) return null;
    }
    end = close + 1;
    if (end < length && value.charCodeAt(end) !== 58 /* : */) return null;
  } else {
    let previous = 46; // so a leading "." counts as an empty label
    for (let i = 0; i < length; i++) {
      const c = value.charCodeAt(i);
      if (c === 58 /* : */) {
        end = i;
        break;
      }
      if (c === 46 /* . */) {
        if (previous === 46) return null;
      } else if (c >= 65 && c <= 90) upper = true;
      else if (!((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 45 /* - */ || c === 95 /* _ */)) return null;
      previous = c;
    }
    if (end === 0) return null; // ":80"
  }
  if (end < length && !validPort(value, end + 1)) return null;
  const hostEnd = value.charCodeAt(end - 1) === 46 ? end - 1 : end;
  const host = hostEnd === length ? value : value.slice(0, hostEnd);
  return upper ? host.toLowerCase() : host;
}

function validPort(value: string, from: number): boolean {
  const digits = value.length - from;
  if (digits < 1 || digits > 5) return false;
  let port = 0;
  for (let i = from; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 48 || c > 57) return false;
    port = port * 10 + (c - 48);
  }
  return port <= 65_535;
}
