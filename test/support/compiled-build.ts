// The runtime code compiled as the image runs it (tsconfig.build.json), into a temporary folder, for a test or bench
// that runs the JavaScript: `tsc --noCheck` only emits (~3 s; `npm run typecheck` checks the types), and a
// node_modules symlink to the repository's lets the emitted files resolve their packages. remove() deletes it.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface CompiledBuild {
  /** The emitted tree: `<dir>/cli/gatehouse.js`, `<dir>/proxy/…`, as under /app in the image. */
  dir: string;
  /** `<dir>/cli/gatehouse.js`. */
  entry: string;
  /** How long tsc took. */
  emitMs: number;
  remove: () => void;
}

export async function buildCompiled(): Promise<CompiledBuild> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-compiled-'));
  const remove = (): void => rmSync(dir, { recursive: true, force: true });
  const t0 = performance.now();
  try {
    await new Promise<void>((resolve, reject) => {
      const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
      execFile(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json'), '--noCheck', '--outDir', dir], { cwd: ROOT, timeout: 120_000 }, (err, stdout, stderr) =>
        err ? reject(new Error(`tsc -p tsconfig.build.json failed: ${err.message}\n${stdout}${stderr}`)) : resolve(),
      );
    });
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
    // The package.json beside the tree, as in the image: `"type": "module"` and cli/package-version.ts's version.
    symlinkSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
  } catch (err) {
    remove();
    throw err;
  }
  return { dir, entry: join(dir, 'cli/gatehouse.js'), emitMs: Math.round(performance.now() - t0), remove };
}
