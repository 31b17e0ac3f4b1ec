// A rule's directResponse and redirect in table form. A body comes inline or, in standalone mode, from a file in the
// config folder (read by the files source, handed in as CompileInput.files); a body that cannot be had makes the rule
// answer 500 and its ResolvedRefs condition says why, the way a missing Secret does.
import type { RouteRule } from '../../crds/schemas/index.ts';
import { parseTemplate } from '../../proxy/direct/response-template.ts';
import type { TableDirectResponse, TableRedirect, TableRewrite } from '../../proxy/table/table-schema.ts';
import type { ClusterIndex } from './cluster-index.ts';
import type { RefProblem } from './conditions.ts';
import { cmp } from './resource-key.ts';

type DirectResponse = NonNullable<RouteRule['directResponse']>;
type Redirect = NonNullable<RouteRule['redirect']>;

const DEFAULT_CONTENT_TYPE = 'text/plain; charset=utf-8';

/** What a rule answers when its body cannot be had: the gateway's own error, never an empty 200. */
const BODY_UNAVAILABLE: TableDirectResponse = Object.freeze({
  status: 500,
  headers: [['content-type', 'application/json']],
  body: '{"error":"direct response body unavailable"}',
  escape: 'none',
}) as TableDirectResponse;

/**
 * How substituted values are escaped in the body, by the response's media type: JSON string escaping for
 * application/json and +json types (placeholders belong inside JSON strings), HTML escaping for text/html and XHTML,
 * none otherwise (text/plain: the value as the client sent it).
 */
export function bodyEscape(headers: DirectResponse['headers']): TableDirectResponse['escape'] {
  const contentType = Object.entries(headers ?? {}).find(([name]) => name.toLowerCase() === 'content-type')?.[1] ?? DEFAULT_CONTENT_TYPE;
  const media = (contentType.split(';')[0] ?? '').trim().toLowerCase();
  if (media === 'application/json' || media.endsWith('+json')) return 'json';
  if (media === 'text/html' || media === 'application/xhtml+xml') return 'html';
  return 'none';
}

export function compileDirectResponse(direct: DirectResponse, at: string, cluster: ClusterIndex): { table: TableDirectResponse; problem: RefProblem | null } {
  const headers = Object.entries(direct.headers ?? {})
    .map(([name, value]): [string, string] => [name.toLowerCase(), value])
    .sort((a, b) => cmp(a[0], b[0]));
  const escape = bodyEscape(direct.headers);
  if (direct.body === undefined) return { table: { status: direct.status, headers, escape }, problem: null };
  if (!headers.some(([name]) => name === 'content-type')) headers.push(['content-type', DEFAULT_CONTENT_TYPE]);
  headers.sort((a, b) => cmp(a[0], b[0]));
  const file = direct.body.file;
  if (file === undefined) return { table: { status: direct.status, headers, body: direct.body.inline ?? '', escape }, problem: null };

  const field = `${at}.body.file`;
  const read = cluster.file(file);
  if (read === undefined) {
    return { table: BODY_UNAVAILABLE, problem: { path: field, reason: 'BodyFileUnavailable', message: 'a body file is read in standalone mode only; in a cluster use body.inline' } };
  }
  if ('error' in read) return { table: BODY_UNAVAILABLE, problem: { path: field, reason: 'BodyFileUnavailable', message: read.error } };
  const parsed = parseTemplate(read.text, escape);
  if (!parsed.ok) return { table: BODY_UNAVAILABLE, problem: { path: field, reason: 'InvalidBody', message: `${file}: ${parsed.error}` } };
  return { table: { status: direct.status, headers, body: read.text, escape }, problem: null };
}

/**
 * The Location's parts; the path replacement works on the client's full path (basePath included: a redirect tells the
 * client where to go, so the basePath is never stripped), as rewrites do.
 */
export function compileRedirect(redirect: Redirect, matchedPath: { type: string; value: string }, basePath: string | undefined): TableRedirect {
  let path: TableRewrite | undefined;
  if (redirect.replacePath !== undefined) path = { kind: 'path', to: redirect.replacePath };
  else if (redirect.replacePrefix !== undefined) path = { kind: 'prefix', from: trimSlash(`${basePath ?? ''}${matchedPath.value}`), to: trimSlash(redirect.replacePrefix) };
  return {
    statusCode: redirect.statusCode as TableRedirect['statusCode'],
    ...(redirect.scheme !== undefined && { scheme: redirect.scheme }),
    ...(redirect.hostname !== undefined && { hostname: redirect.hostname }),
    ...(redirect.port !== undefined && { port: redirect.port }),
    ...(path !== undefined && { path }),
  };
}

function trimSlash(path: string): string {
  return path.replace(/\/+$/, '');
}
