// Just enough of the Dockerfile and .dockerignore formats for test/e2e/image-files.test.ts: stages with their COPY,
// RUN (also in file order, to replay a build stage), ENV, USER, WORKDIR and ENTRYPOINT instructions, ARG defaults in FROM, and the .dockerignore matching rules
// of BuildKit (moby/patternmatcher: the last matching pattern wins, `!` re-includes, a pattern matching a parent
// folder matches everything in it, `**` spans folders).

export interface CopyInstruction {
  /** `--from=STAGE`; undefined: from the build context. */
  from: string | undefined;
  sources: string[];
  dest: string;
  line: number;
}

export interface RunInstruction {
  /** The shell-form command (an exec-form RUN stays as its JSON text). */
  command: string;
  line: number;
}

export interface Stage {
  image: string;
  name: string | undefined;
  copies: CopyInstruction[];
  runs: string[];
  /** The COPY and RUN instructions in file order. */
  steps: Array<{ copy: CopyInstruction } | { run: RunInstruction }>;
  env: Record<string, string>;
  user: string | undefined;
  workdir: string;
  /** Exec (JSON) form only; a shell-form ENTRYPOINT is kept as `['/bin/sh', '-c', text]`. */
  entrypoint: string[] | undefined;
  cmd: string[] | undefined;
}

/** Joins `\` continuations, drops comments and blank lines; keeps each instruction's first line number. */
function instructions(text: string): Array<{ keyword: string; rest: string; line: number }> {
  const out: Array<{ keyword: string; rest: string; line: number }> = [];
  let pending = '';
  let start = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line.startsWith('#') || (line === '' && pending === '')) return;
    if (pending === '') start = i + 1;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      return;
    }
    const full = (pending + line).trim();
    pending = '';
    const m = /^(\S+)\s*(.*)$/.exec(full);
    if (m) out.push({ keyword: m[1]!.toUpperCase(), rest: m[2]!, line: start });
  });
  return out;
}

function jsonOrShell(rest: string): string[] {
  if (rest.startsWith('[')) return JSON.parse(rest) as string[];
  return ['/bin/sh', '-c', rest];
}

/** `KEY=value KEY2="v 2"` (or the old `KEY value`). */
function envPairs(rest: string): Record<string, string> {
  if (!rest.includes('=')) {
    const [key, ...value] = rest.split(/\s+/);
    return { [key!]: value.join(' ') };
  }
  const pairs: Record<string, string> = {};
  for (const m of rest.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)/g)) {
    const value = m[2]!;
    pairs[m[1]!] = value.startsWith('"') ? (JSON.parse(value) as string) : value;
  }
  return pairs;
}

export function parseDockerfile(text: string): Stage[] {
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const { keyword, rest, line } of instructions(text)) {
    const stage = stages.at(-1);
    switch (keyword) {
      case 'ARG': {
        const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:=(.*))?$/.exec(rest);
        if (m && stage === undefined) args[m[1]!] = m[2] ?? '';
        break;
      }
      case 'FROM': {
        const [image = '', as, name] = rest.replace(/--platform=\S+\s+/, '').split(/\s+/);
        const resolved = image.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (_, n: string) => args[n] ?? '');
        stages.push({
          image: resolved,
          name: as?.toUpperCase() === 'AS' ? name : undefined,
          copies: [],
          runs: [],
          steps: [],
          env: {},
          user: undefined,
          workdir: '/',
          entrypoint: undefined,
          cmd: undefined,
        });
        break;
      }
      case 'COPY':
      case 'ADD': {
        if (stage === undefined) throw new Error(`line ${line}: ${keyword} before FROM`);
        const words = rest.startsWith('[') ? (JSON.parse(rest) as string[]) : rest.split(/\s+/);
        const flags = words.filter((w) => w.startsWith('--'));
        const paths = words.filter((w) => !w.startsWith('--'));
        const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length);
        if (paths.length < 2) throw new Error(`line ${line}: ${keyword} needs a source and a destination`);
        const copy = { from, sources: paths.slice(0, -1), dest: paths.at(-1)!, line };
        stage.copies.push(copy);
        stage.steps.push({ copy });
        break;
      }
      case 'RUN':
        stage?.runs.push(rest);
        stage?.steps.push({ run: { command: rest, line } });
        break;
      case 'ENV':
        if (stage) Object.assign(stage.env, envPairs(rest));
        break;
      case 'USER':
        if (stage) stage.user = rest;
        break;
      case 'WORKDIR':
        if (stage) stage.workdir = rest.startsWith('/') ? rest : `${stage.workdir.replace(/\/$/, '')}/${rest}`;
        break;
      case 'ENTRYPOINT':
        if (stage) stage.entrypoint = jsonOrShell(rest);
        break;
      case 'CMD':
        if (stage) stage.cmd = jsonOrShell(rest);
        break;
    }
  }
  return stages;
}

interface IgnorePattern {
  exclusion: boolean;
  regex: RegExp;
}

function patternRegex(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*' && pattern[i + 1] === '*') {
      // `**/` is zero or more folders; a trailing `**` is anything.
      if (pattern[i + 2] === '/') {
        re += '(?:.*/)?';
        i += 2;
      } else {
        re += '.*';
        i += 1;
      }
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i);
      re += pattern.slice(i, end + 1).replace('[!', '[^');
      i = end;
    } else if (c === '\\' && i + 1 < pattern.length) re += `\\${pattern[++i]}`;
    else re += c.replace(/[.+^${}()|/\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** The .dockerignore rules; `ignored(path)` says whether a context path (relative, `/`-separated) is left out. */
export function parseDockerignore(text: string): { ignored: (path: string) => boolean } {
  const patterns: IgnorePattern[] = [];
  for (const raw of text.split('\n')) {
    let p = raw.trim();
    if (p === '' || p.startsWith('#')) continue;
    const exclusion = p.startsWith('!');
    if (exclusion) p = p.slice(1).trim();
    // Like filepath.Clean, relative to the context root.
    p = p.replace(/^\/+/, '').replace(/\/+$/, '').replace(/\/\.\//g, '/');
    if (p === '' || p === '.') continue;
    patterns.push({ exclusion, regex: patternRegex(p) });
  }
  return {
    ignored(path: string): boolean {
      const parts = path.split('/').filter((s) => s !== '' && s !== '.');
      const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
      let matched = false;
      for (const pattern of patterns) {
        // The path itself or one of its parent folders (MatchesOrParentMatches).
        if (prefixes.some((prefix) => pattern.regex.test(prefix))) matched = !pattern.exclusion;
      }
      return matched;
    },
  };
}
