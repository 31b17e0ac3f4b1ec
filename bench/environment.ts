// What the numbers were measured on, recorded next to them.
import { execFileSync } from 'node:child_process';
import { cpus, release } from 'node:os';
import { nginxBinary } from './nginx.ts';

function firstLine(command: string, args: string[]): string {
  try {
    // nginx -v and wrk -v print to stderr, and wrk -v exits 1.
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).split('\n')[0] ?? '';
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return `${e.stderr ?? ''}${e.stdout ?? ''}`.split('\n')[0]?.trim() ?? 'unknown';
  }
}

export function describeEnvironment(): Record<string, string | number> {
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cpus: cpus().length,
    kernel: release(),
    node: process.version,
    nginx: firstLine(nginxBinary(), ['-v']),
    wrk: firstLine('wrk', ['-v']),
  };
}
