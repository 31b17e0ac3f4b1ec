// Where a match's path ends up in the table once the route's basePath is in front of it, and the rewrite
// that the rule (or stripBasePath) asks for.
import type { RouteMatch, RouteRule } from '../../crds/schemas/index.ts';
import type { TablePathMatch, TableRewrite } from '../../proxy/table/table-schema.ts';

type MatchPath = NonNullable<RouteMatch['path']>;

const TABLE_TYPE = { Exact: 'exact', Prefix: 'prefix', Template: 'template', Regex: 'regex' } as const;

/**
 * The full path to match. A path of "/" under basePath "/v1" is "/v1" itself (AWS: the stage root).
 * A regex is anchored by the proxy, so under a basePath it becomes `<escaped basePath>(?:<regex>)`:
 * the group keeps an alternation ("/a|/b") from escaping the prefix; a leading "^" the user wrote is dropped.
 */
export function tablePath(path: MatchPath, basePath: string | undefined): TablePathMatch {
  const type = TABLE_TYPE[path.type];
  if (basePath === undefined) return { type, value: path.value };
  if (path.type === 'Regex') {
    const inner = path.value.startsWith('^') ? path.value.slice(1) : path.value;
    return { type, value: `${escapeRegex(basePath)}(?:${inner})` };
  }
  return { type, value: path.value === '/' ? basePath : `${basePath}${path.value}` };
}

/**
 * - replacePath: the whole path is replaced (params filled by the proxy).
 * - replacePrefix: the full matched prefix (basePath + rule prefix) is replaced. Trailing slashes are trimmed on
 *   both sides so "/api" → "/" turns "/api/users" into "/users", not "//users".
 * - otherwise, with stripBasePath: the basePath is removed.
 */
export function tableRewrite(rule: RouteRule, path: MatchPath, basePath: string | undefined, stripBasePath: boolean): TableRewrite | undefined {
  const rewrite = rule.rewrite;
  if (rewrite?.replacePath !== undefined) return { kind: 'path', to: rewrite.replacePath };
  if (rewrite?.replacePrefix !== undefined) {
    return { kind: 'prefix', from: trimSlash(`${basePath ?? ''}${path.value}`), to: trimSlash(rewrite.replacePrefix) };
  }
  if (basePath !== undefined && stripBasePath) return { kind: 'prefix', from: basePath, to: '' };
  return undefined;
}

function trimSlash(path: string): string {
  return path.replace(/\/+$/, '');
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
