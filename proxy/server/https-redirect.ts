// The plain port's answer for a route whose ApiRoute sets spec.tls.httpsRedirect: the same host, path and query on
// https, given before any policy (learning where to go needs no credentials). The host is the request's own (it
// matched the route: one of its hosts, or any host for a route without hosts).

/** `port`: the HTTPS port clients reach (--https-redirect-port); 443 is left out of the URL. */
export function httpsLocation(host: string, port: number, path: string, query: string): string {
  const authority = port === 443 ? host : `${host}:${port}`;
  return query === '' ? `https://${authority}${path}` : `https://${authority}${path}?${query}`;
}
