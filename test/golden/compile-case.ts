// Loads one golden compile case: in.yaml (plus last-accepted.yaml, the objects an earlier compile accepted)
// → CompileInput, through the same document converter the files source and `gatehouse validate` use.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CompileInput } from '../../controller/compile/compile-types.ts';
import { documentsToCompileInput } from '../../controller/sources/manifest-documents.ts';
import { parseManifestText, type ManifestDocument } from '../../controller/sources/manifest-files.ts';

export function loadCase(dir: string): CompileInput {
  const { input, errors } = documentsToCompileInput(readDocuments(join(dir, 'in.yaml')));
  if (errors.length > 0) throw new Error(`${dir}: ${errors.map((e) => `${e.origin}: ${e.message}`).join('\n')}`);
  const lastPath = join(dir, 'last-accepted.yaml');
  if (existsSync(lastPath)) {
    const last = documentsToCompileInput(readDocuments(lastPath));
    input.lastAccepted = new Map(last.input.resources.map((r) => [`${r.kind}/${r.namespace}/${r.name}`, r.object]));
    // A TLS Secret there is the certificate pair an earlier compile served for it.
    for (const s of last.input.secrets ?? []) {
      const id = `${s.namespace}/${s.name}`;
      if (s.data['tls.crt'] !== undefined) input.lastAccepted.set(`Secret/${id}`, { id, certPem: s.data['tls.crt'], keyPem: s.data['tls.key'] });
    }
  }
  return input;
}

function readDocuments(path: string): ManifestDocument[] {
  const name = path.split('/').slice(-2).join('/');
  const parsed = parseManifestText(readFileSync(path, 'utf8'), name);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.documents;
}
