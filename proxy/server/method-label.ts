// The `method` label of the request counter: the standard methods (RFC 9110 and PATCH), anything else as OTHER.
// Node's parser accepts some thirty methods (WebDAV, M-SEARCH, …); a client must not be able to add series.

export const METHOD_LABELS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'CONNECT', 'TRACE', 'OTHER'] as const;

/** The method's index in METHOD_LABELS. A switch: Node hands out the same interned strings, compared in a few ns. */
export function methodSlot(method: string): number {
  switch (method) {
    case 'GET':
      return 0;
    case 'HEAD':
      return 1;
    case 'POST':
      return 2;
    case 'PUT':
      return 3;
    case 'DELETE':
      return 4;
    case 'PATCH':
      return 5;
    case 'OPTIONS':
      return 6;
    case 'CONNECT':
      return 7;
    case 'TRACE':
      return 8;
    default:
      return 9;
  }
}
