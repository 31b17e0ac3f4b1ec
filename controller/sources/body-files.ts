// Standalone mode's direct-response body files: the ApiRoutes' `directResponse.body.file` paths, read from the config
// folder on every snapshot (the folder's watch sees an edit to a body file as to a manifest, so a change is served on
// the next reload). Only files inside the folder are read, symbolic links resolved; each is bounded in size.
import { readFileSync, realpathSync, statSync } from 'node:fs';
import { join, sep } from 'node:path';
import type { BodyFileRead, RawResource } from '../compile/compile-types.ts';

/** Larger bodies belong upstream: the whole body lives in every table and every proxy's memory. */
export const MAX_BODY_FILE_BYTES = 1024 * 1024;

/** Reads are synchronous: the files are few and small, and the compile that needs them is synchronous too. */
export function readBodyFiles(configDir: string, resources: readonly RawResource[]): Map<string, BodyFileRead> {
  const out = new Map<string, BodyFileRead>();
  let root: string | null = null;
  for (const path of bodyFilePaths(resources)) {
    if (out.has(path)) continue;
    if (root === null) {
      try {
        root = realpathSync(configDir);
      } catch (err) {
        out.set(path, { error: `cannot read the config folder: ${(err as NodeJS.ErrnoException).code ?? String(err)}` });
        continue;
      }
    }
    out.set(path, readOne(root, path));
  }
  return out;
}

function readOne(root: string, path: string): BodyFileRead {
  // The schema refuses absolute paths and ".." already; the real path also catches a symbolic link leading out.
  let real: string;
  try {
    real = realpathSync(join(root, path));
  } catch (err) {
    return { error: `cannot read ${JSON.stringify(path)} in the config folder: ${(err as NodeJS.ErrnoException).code ?? String(err)}` };
  }
  if (!real.startsWith(root + sep)) return { error: `${JSON.stringify(path)} leads outside the config folder` };
  try {
    const size = statSync(real).size;
    if (size > MAX_BODY_FILE_BYTES) return { error: `${JSON.stringify(path)} is ${size} bytes, more than the ${MAX_BODY_FILE_BYTES} a body file may have` };
    return { text: readFileSync(real, 'utf8') };
  } catch (err) {
    return { error: `cannot read ${JSON.stringify(path)} in the config folder: ${(err as NodeJS.ErrnoException).code ?? String(err)}` };
  }
}

/** The body file paths the ApiRoutes name, from their unvalidated objects (a malformed one simply names none). */
function* bodyFilePaths(resources: readonly RawResource[]): Generator<string> {
  for (const r of resources) {
    if (r.kind !== 'ApiRoute') continue;
    const rules = (r.object as { spec?: { rules?: unknown } } | null)?.spec?.rules;
    if (!Array.isArray(rules)) continue;
    for (const rule of rules) {
      const file = (rule as { directResponse?: { body?: { file?: unknown } } } | null)?.directResponse?.body?.file;
      if (typeof file === 'string' && file !== '' && !file.startsWith('/') && !file.split('/').includes('..')) yield file;
    }
  }
}
