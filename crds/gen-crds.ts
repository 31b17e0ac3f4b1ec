// `npm run gen`: write the CRD manifests from the zod schemas, both into crds/ and into the Helm chart's crds/
// (charts/gatehouse/crds: Helm installs them before the chart's templates). Same bytes in both places.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { CRD_OUTPUT_DIRS, renderCrds } from './render-crds.ts';

const root = join(import.meta.dirname, '..');
const files = renderCrds();
for (const dir of CRD_OUTPUT_DIRS) {
  const abs = join(root, dir);
  mkdirSync(abs, { recursive: true });
  for (const [name, text] of files) {
    writeFileSync(join(abs, name), text);
    console.log(`wrote ${relative(root, join(abs, name))}`);
  }
}
