// The HTTP versions the gateway speaks: 1.0 and 1.1 on its HTTP/1 parser, and HTTP/2 streams on the TLS port. Node's
// parser also accepts HTTP/0.9 request lines (even followed by header lines, which nginx would not read) and a
// literal "HTTP/2.0" over HTTP/1: neither is served, so no request is parsed one way here and another way in front.

/** The fields of a request (node:http's or node:http2's) the check reads. */
interface Versioned {
  httpVersionMajor: number;
  /** Present on HTTP/2 requests (node:http2's compatibility API) only. */
  stream?: unknown;
}

/** False → 505. One comparison for the usual HTTP/1.x request. */
export function supportedVersion(req: Versioned): boolean {
  const major = req.httpVersionMajor;
  if (major === 1) return true;
  return major === 2 && req.stream !== undefined;
}
