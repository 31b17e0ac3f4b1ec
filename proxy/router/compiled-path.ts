// A route's path matcher in the shape its tier needs, compiled once per route (not per host bucket).
import type { TablePathMatch } from '../table/table-schema.ts';
import { compileAnchoredRegex } from './anchored-regex.ts';
import { parseTemplate, type ParsedTemplate } from './template-parse.ts';

export type CompiledPath =
  | { readonly type: 'exact'; readonly value: string }
  /** `key` is the prefix without trailing "/" ("" for "/"): prefixes match on segment boundaries. */
  | { readonly type: 'prefix'; readonly key: string }
  | { readonly type: 'template'; readonly template: ParsedTemplate }
  | { readonly type: 'regex'; readonly re: RegExp; readonly hasGroups: boolean };

export function compilePath(path: TablePathMatch, routeId: string): CompiledPath {
  switch (path.type) {
    case 'exact':
      return { type: 'exact', value: path.value };
    case 'prefix':
      if (!path.value.startsWith('/')) throw new Error(`route ${routeId}: path prefix ${JSON.stringify(path.value)} must start with "/"`);
      return { type: 'prefix', key: prefixKey(path.value) };
    case 'template':
      return { type: 'template', template: parseTemplate(path.value, routeId) };
    case 'regex': {
      const re = compileAnchoredRegex(path.value, 'path', routeId);
      // Named groups become params; only then is exec() (which allocates) used instead of test().
      return { type: 'regex', re, hasGroups: /\(\?<[A-Za-z_$]/.test(path.value) };
    }
  }
}

/** A prefix's key in the prefix tier: without its trailing "/" ("" for "/"). */
export function prefixKey(value: string): string {
  return value.replace(/\/+$/, '');
}
