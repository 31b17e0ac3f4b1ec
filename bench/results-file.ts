// Every benchmark writes its report the same way: a timestamped file to keep, and a "latest" copy to link to.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Writes `<dir>/<prefix>-<UTC stamp>.json` and `<dir>/<latestName>`; returns the JSON text and the stamped path. */
export function writeResultFiles(dir: string, prefix: string, latestName: string, report: unknown, date: Date): { file: string; text: string } {
  mkdirSync(dir, { recursive: true });
  const stamp = date.toISOString().replace(/[:]/g, '').replace(/\.\d+Z$/, 'Z');
  const file = join(dir, `${prefix}-${stamp}.json`);
  const text = `${JSON.stringify(report, null, 2)}\n`;
  writeFileSync(file, text);
  writeFileSync(join(dir, latestName), text);
  return { file, text };
}
