// Reads YAML manifest files into documents tagged with where they came from ("path:line"),
// so every later error can point a user at the exact document.
import { readFile, readdir, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { LineCounter, parseAllDocuments } from 'yaml';

export interface ManifestDocument {
  object: unknown;
  origin: string;
}

export type ManifestFileResult =
  | { ok: true; file: string; documents: ManifestDocument[] }
  | { ok: false; file: string; error: string };

const MANIFEST_EXT = /\.ya?ml$/i;

/** Parse one file's text; a syntax error anywhere fails the whole file (it may be half-written). */
export function parseManifestText(text: string, file: string): ManifestFileResult {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: true });
  const documents: ManifestDocument[] = [];
  for (const doc of docs) {
    if (doc.errors.length > 0) {
      const first = doc.errors[0];
      const where = first?.linePos?.[0] ? `${file}:${first.linePos[0].line}:${first.linePos[0].col}` : file;
      return { ok: false, file, error: `${where}: YAML syntax error: ${first?.message.split('\n')[0] ?? 'unknown'}` };
    }
    const object: unknown = doc.toJS({ maxAliasCount: 100 });
    if (object === null || object === undefined) continue; // empty document between separators
    const offset = doc.contents?.range[0] ?? 0;
    documents.push({ object, origin: `${file}:${lineCounter.linePos(offset).line}` });
  }
  return { ok: true, file, documents };
}

export async function readManifestFile(path: string, displayRoot = process.cwd()): Promise<ManifestFileResult> {
  // Short paths for files below the working directory, absolute ones for anything else.
  const rel = relative(displayRoot, path);
  const file = rel === '' || rel.startsWith('..') || isAbsolute(rel) ? resolve(path) : rel;
  try {
    return parseManifestText(await readFile(path, 'utf8'), file);
  } catch (err) {
    return { ok: false, file, error: `${file}: cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}` };
  }
}

/** Every *.yaml / *.yml below the given paths (files or folders), sorted, skipping hidden entries. */
export async function listManifestFiles(paths: string[]): Promise<string[]> {
  const found: string[] = [];
  const visit = async (path: string, explicit: boolean): Promise<void> => {
    const info = await stat(path);
    if (info.isDirectory()) {
      for (const entry of await readdir(path)) {
        if (entry.startsWith('.') || entry === 'node_modules') continue;
        await visit(join(path, entry), false);
      }
    } else if (explicit || MANIFEST_EXT.test(path)) {
      found.push(path);
    }
  };
  for (const p of paths) await visit(p, true);
  return [...new Set(found)].sort();
}
