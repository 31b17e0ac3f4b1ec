// `gatehouse validate FILES…`: compile offline and print every resource's conditions; non-zero on any problem.
import { compile } from '../../controller/compile/compile.ts';
import { documentsToCompileInput } from '../../controller/sources/manifest-documents.ts';
import { listManifestFiles, readManifestFile, type ManifestDocument } from '../../controller/sources/manifest-files.ts';
import { VALIDATE } from './command-flags.ts';
import { commandUsage, parseCommandLine } from './flag-definitions.ts';
import { fullReport, isProblem, originsByKey } from '../../controller/status/status-report.ts';
import { readBodyFiles } from '../../controller/sources/body-files.ts';
import { statSync } from 'node:fs';

export async function validateCommand(args: string[], out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const parsed = parseCommandLine(VALIDATE, args);
  if (parsed === undefined) return 2;
  const paths = parsed.positionals;
  if (paths.length === 0) {
    out.write(commandUsage(VALIDATE));
    return 2;
  }
  let files: string[];
  try {
    files = await listManifestFiles(paths);
  } catch (err) {
    out.write(`error: ${(err as Error).message}\n`);
    return 2;
  }
  const documents: ManifestDocument[] = [];
  let failed = false;
  for (const file of files) {
    const result = await readManifestFile(file);
    if (result.ok) documents.push(...result.documents);
    else {
      out.write(`✗ ${result.error}\n`);
      failed = true;
    }
  }
  const { input, errors } = documentsToCompileInput(documents);
  for (const e of errors) out.write(`✗ ${e.origin}: ${e.message}\n`);
  // One folder is checked as standalone mode serves it: direct-response body files are read from it.
  const only = paths.length === 1 ? (paths[0] as string) : null;
  if (only !== null && statSync(only).isDirectory()) input.files = readBodyFiles(only, input.resources);
  const { statuses, table } = compile(input);
  for (const line of fullReport(statuses, originsByKey(input.resources))) out.write(`${line}\n`);
  const problems = statuses.filter((s) => s.conditions.some(isProblem)).length;
  failed ||= errors.length > 0 || problems > 0;
  out.write(`\n${statuses.length} resources, ${problems} with problems, ${table.routes.length} routes compiled (table ${table.version})\n`);
  return failed ? 1 : 0;
}
