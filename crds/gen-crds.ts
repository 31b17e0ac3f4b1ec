// `npm run gen`: write crds/<group>_<plural>.yaml from the zod schemas.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderCrds } from './render-crds.ts';

const dir = import.meta.dirname;
for (const [name, text] of renderCrds()) {
  writeFileSync(join(dir, name), text);
  console.log(`wrote crds/${name}`);
}
