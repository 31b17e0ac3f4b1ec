// Path rewrites, compiled once per table so a request only slices and joins strings.
import type { TableRewrite } from '../table/table-schema.ts';

/** Maps the matched (raw) path to the upstream path, before the backend's pathPrefix. */
export type PathRewriter = (path: string, params: Readonly<Record<string, string>> | null) => string;

export function compileRewrite(rewrite: TableRewrite | undefined): PathRewriter | null {
  if (rewrite === undefined) return null;
  if (rewrite.kind === 'prefix') return prefixRewriter(rewrite.from, rewrite.to);
  return templateRewriter(rewrite.to);
}

function prefixRewriter(from: string, to: string): PathRewriter {
  return (path) => {
    // The router only matches this route when the path starts with `from`; anything else is left alone.
    if (!path.startsWith(from)) return path;
    const rest = path.slice(from.length);
    const joined = to + rest;
    if (joined === '') return '/';
    return joined.charCodeAt(0) === 47 /* / */ ? joined : `/${joined}`;
  };
}

type Part = { literal: string } | { param: string; greedy: boolean };

/** `{name}` is one segment (its value re-encoded, "/" too); `{name+}` may span segments (each re-encoded). */
function templateRewriter(to: string): PathRewriter {
  const parts: Part[] = [];
  const re = /\{([A-Za-z_][A-Za-z0-9_]*)(\+?)\}/g;
  let last = 0;
  for (let m = re.exec(to); m !== null; m = re.exec(to)) {
    if (m.index > last) parts.push({ literal: to.slice(last, m.index) });
    parts.push({ param: m[1] ?? '', greedy: m[2] === '+' });
    last = m.index + m[0].length;
  }
  if (last < to.length) parts.push({ literal: to.slice(last) });
  if (parts.every((p) => 'literal' in p)) return () => to;
  return (_path, params) => {
    let out = '';
    for (const part of parts) {
      if ('literal' in part) out += part.literal;
      else out += encodeParam(params?.[part.param] ?? '', part.greedy);
    }
    return out;
  };
}

// The router hands params decoded; they go back into a URL path, so they are encoded again.
function encodeParam(value: string, greedy: boolean): string {
  return greedy ? value.split('/').map(encodeURIComponent).join('/') : encodeURIComponent(value);
}
