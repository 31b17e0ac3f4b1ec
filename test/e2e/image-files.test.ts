// The container image (Dockerfile, .dockerignore) without a container engine: every path the Dockerfile copies
// from the build context exists and .dockerignore keeps it (and keeps test/, bench/, tools/, .git, node_modules,
// dist/ out); the runtime stage is the one the chart expects (uid 65532, exec-form `node /app/cli/gatehouse.js`
// entrypoint, production dependencies only); and the image's files are enough to run it: the build stage is
// replayed in one temporary folder (its COPY lines, the .dockerignore applied, then its RUN lines: the real
// `npm run build`), the runtime stage's COPY lines in another (from the build stage's folder or the context), next
// to the production dependency tree, and the ENTRYPOINT runs from there with type stripping off — `version`,
// `--help`, `validate` on the copied examples, and `proxy` / `controller` far enough to load their whole module
// graph. A file missing from a COPY list or a module tsc did not emit fails here as ERR_MODULE_NOT_FOUND, and any
// .ts module the image would still need as ERR_UNKNOWN_FILE_EXTENSION.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, globSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, posix, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { parseDockerfile, parseDockerignore, type CopyInstruction, type Stage } from '../support/dockerfile.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const stages = parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
const dockerignore = parseDockerignore(readFileSync(join(ROOT, '.dockerignore'), 'utf8'));
const runtime = stages.at(-1) as Stage;
const contextCopies = stages.flatMap((s) => s.copies.filter((c) => c.from === undefined));
/** The stage that compiles: the one a runtime COPY takes the `gatehouse` entrypoint's folder from. */
const build = stages.find((s) => s.name !== undefined && runtime.copies.some((c) => c.from === s.name && c.dest === './cli'));

/** A COPY source's context paths: itself, or what its wildcards match (Docker's `*`, `?`, `[…]` within a name). */
function contextMatches(source: string): string[] {
  if (!/[*?[]/.test(source)) return existsSync(join(ROOT, source)) ? [source] : [];
  return globSync(source, { cwd: ROOT }).map((p) => p.split(sep).join('/')).sort();
}

/** Every file (not folder) under a context path, relative to the context root. */
function filesUnder(path: string): string[] {
  const abs = join(ROOT, path);
  if (!statSync(abs).isDirectory()) return [path];
  return readdirSync(abs, { recursive: true, withFileTypes: true })
    .filter((d) => !d.isDirectory())
    .map((d) => relative(ROOT, join(d.parentPath, d.name)).split(sep).join('/'));
}

test('the runtime stage: Node 24 slim, uid 65532 like the chart, exec-form `node /app/cli/gatehouse.js`, production dependencies only', () => {
  assert.ok(stages.length >= 2, 'a build stage and a runtime stage');
  assert.match(runtime.image, /^node:24[.\d]*-([a-z]+-)?slim(@sha256:[0-9a-f]+)?$/, `runtime base ${runtime.image}`);
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };
  assert.equal(pkg.engines.node, '>=24', 'the image major follows engines.node');

  const values = parseYaml(readFileSync(join(ROOT, 'charts/gatehouse/values.yaml'), 'utf8')) as {
    podSecurityContext: { runAsUser: number; runAsGroup: number };
  };
  assert.equal(runtime.user, `${values.podSecurityContext.runAsUser}:${values.podSecurityContext.runAsGroup}`, 'numeric USER = the chart uid:gid');
  assert.equal(runtime.env['NODE_ENV'], 'production');
  assert.equal(runtime.workdir, '/app');
  // Exec form: node gets the signals itself (a shell-form entrypoint would be `/bin/sh -c`, PID 1 without handlers).
  // Compiled JavaScript, not the .ts sources: no type stripper loaded (~18 MB of RSS per process).
  assert.deepEqual(runtime.entrypoint, ['node', '/app/cli/gatehouse.js']);

  // node_modules comes only from a stage that ran `npm ci --omit=dev`, never from the build context.
  const modules = runtime.copies.filter((c) => c.sources.some((s) => /node_modules/.test(s)));
  assert.equal(modules.length, 1, 'one node_modules COPY');
  const deps = stages.find((s) => s.name === modules[0]!.from);
  assert.ok(deps, `--from=${modules[0]!.from} is a stage`);
  assert.ok(deps.runs.some((r) => /\bnpm ci\b.*--omit=dev/.test(r)), 'the dependency stage runs npm ci --omit=dev');
  // Explicit lists, so this test knows the image's files.
  for (const c of contextCopies) assert.ok(!c.sources.includes('.'), `line ${c.line}: no \`COPY . \``);

  // The code comes from a build stage that installed the dev dependencies (typescript) and ran `npm run build`,
  // which is tsc with tsconfig.build.json.
  assert.ok(build, 'a named build stage the runtime copies cli/ from');
  assert.match(build.image, /^node:24/);
  assert.ok(build.runs.some((r) => /\bnpm ci\b/.test(r) && !r.includes('--omit=dev')), 'the build stage installs the dev dependencies');
  assert.ok(build.runs.includes('npm run build'), 'the build stage runs npm run build');
  const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
  assert.equal(scripts['build'], 'tsc -p tsconfig.build.json');
});

test('every path copied from the build context exists and .dockerignore keeps it; test/, bench/, tools/ and the rest stay out', () => {
  assert.ok(contextCopies.length > 0);
  for (const copy of contextCopies) {
    for (const pattern of copy.sources) {
      const matches = contextMatches(pattern);
      assert.ok(matches.length > 0, `Dockerfile line ${copy.line}: ${pattern} does not exist`);
      for (const source of matches) {
        assert.equal(dockerignore.ignored(source), false, `Dockerfile line ${copy.line}: .dockerignore leaves out ${source}`);
        const kept = filesUnder(source).filter((f) => !dockerignore.ignored(f));
        assert.ok(kept.length > 0, `${source}: .dockerignore leaves none of its files`);
      }
    }
  }
  for (const path of ['test', 'test/e2e/image-files.test.ts', 'bench', 'tools', 'docs', '.git', '.ci', 'node_modules', 'node_modules/zod/package.json', '.scratch', 'Dockerfile', 'cli/node_modules', 'debug.log', 'dist', 'dist/cli/gatehouse.js']) {
    assert.equal(dockerignore.ignored(path), true, `.dockerignore keeps ${path} in the build context`);
  }
  // The matcher itself, on the BuildKit rules the file relies on.
  const sample = parseDockerignore('*\n!keep\nkeep/**/secret\n');
  assert.deepEqual(
    ['keep', 'keep/a.ts', 'keep/x/secret', 'keep/secret', 'other', 'other/a.ts'].map((p) => sample.ignored(p)),
    [false, false, true, true, true, true],
  );
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Where `path` (absolute, or relative to the stage's WORKDIR) of a stage rooted at `under` lands in `folder`. */
function inFolder(stage: Stage, under: string, folder: string, path: string): string {
  const abs = posix.resolve(stage.workdir, path);
  assert.ok(abs === under || abs.startsWith(`${under}/`), `${path}: this replay expects the stage's files under ${under}`);
  return join(folder, posix.relative(under, abs));
}

/**
 * One COPY line with Docker's semantics: a folder's contents go into dest; a file goes to dest, or into it when
 * dest ends with `/`, there are several sources or a wildcard. From the build context (wildcards expanded,
 * .dockerignore's paths left out) or from an earlier stage's replayed folder (`fromStage`).
 */
function replayCopy(copy: CopyInstruction, to: string, fromStage?: { stage: Stage; under: string; folder: string }): void {
  const into = copy.dest.endsWith('/') || copy.sources.length > 1 || copy.sources.some((s) => /[*?[]/.test(s));
  const keep = (src: string): boolean => fromStage !== undefined || !dockerignore.ignored(relative(ROOT, src).split(sep).join('/'));
  const sources = fromStage
    ? copy.sources.map((s) => inFolder(fromStage.stage, fromStage.under, fromStage.folder, s))
    : copy.sources.flatMap(contextMatches).map((s) => join(ROOT, s));
  for (const from of sources.filter(keep)) {
    assert.ok(existsSync(from), `Dockerfile line ${copy.line}: ${relative(fromStage?.folder ?? ROOT, from)} does not exist`);
    const dest = statSync(from).isDirectory() || !into ? to : join(to, basename(from));
    mkdirSync(dirname(dest), { recursive: true });
    cpSync(from, dest, { recursive: true, filter: (src) => src === from || keep(src) });
  }
}

test('the entrypoint runs with exactly the files the runtime stage copies (from a temporary folder)', async (t) => {
  assert.ok(build, 'a build stage');
  const image = mkdtempSync(join(tmpdir(), 'gatehouse-image-'));
  const buildFolder = mkdtempSync(join(tmpdir(), 'gatehouse-image-build-'));
  t.after(() => {
    rmSync(image, { recursive: true, force: true });
    rmSync(buildFolder, { recursive: true, force: true });
  });
  const inImage = (path: string): string => inFolder(runtime, '/app', image, path);
  const inBuild = (path: string): string => inFolder(build, build.workdir, buildFolder, path);

  // The build stage, step by step: its COPY lines from the context, its `npm ci` as a link to the repository's
  // node_modules (the whole tree: the stage installs the dev dependencies, typescript among them), and its other
  // RUN lines as they are (`npm run build`: tsc with tsconfig.build.json, type check included).
  const buildStarted = performance.now();
  for (const step of build.steps) {
    if ('copy' in step) {
      assert.equal(step.copy.from, undefined, `line ${step.copy.line}: the build stage copies from the context`);
      replayCopy(step.copy, inBuild(step.copy.dest));
    } else if (/^npm ci\b/.test(step.run.command)) {
      symlinkSync(join(ROOT, 'node_modules'), inBuild('node_modules'), 'dir');
    } else {
      const r = await run('sh', ['-c', step.run.command], inBuild('.'));
      assert.equal(r.code, 0, `Dockerfile line ${step.run.line}: ${step.run.command}\n${r.stdout}${r.stderr}`);
    }
  }
  t.diagnostic(`build stage replayed in ${Math.round(performance.now() - buildStarted)} ms`);

  // The runtime stage's COPY lines in order (node_modules from the deps stage is below), from the build stage's
  // folder or the context.
  for (const copy of runtime.copies) {
    if (copy.from === undefined) replayCopy(copy, inImage(copy.dest));
    else if (copy.from === build.name) replayCopy(copy, inImage(copy.dest), { stage: build, under: build.workdir, folder: buildFolder });
    else assert.ok(copy.sources.every((s) => /node_modules/.test(s)), `line ${copy.line}: only node_modules comes from ${copy.from}`);
  }

  // The `--from=deps` node_modules: the production tree `npm ci --omit=dev` installs from the same lockfile, as
  // `npm ls --omit=dev --parseable --all` lists it. Each top-level package is symlinked (not copied: 110 MB) into
  // the folder's node_modules, so an import of a devDependency or an unlisted package from the copied code fails
  // here as it would in the image. (A package's own imports resolve from its real path in the repository:
  // that tree is npm's to get right.)
  const listed = await run('npm', ['ls', '--omit=dev', '--parseable', '--all'], ROOT);
  assert.equal(listed.code, 0, listed.stderr);
  const modules = join(ROOT, 'node_modules');
  const packages = listed.stdout
    .split('\n')
    .filter((p) => p.startsWith(modules + sep))
    .map((p) => relative(modules, p).split(sep).join('/'))
    .filter((p) => !p.includes('/node_modules/'));
  assert.ok(packages.includes('zod') && packages.includes('pino'), 'the production tree is listed');
  assert.ok(!packages.includes('typescript') && !packages.includes('eslint'), 'devDependencies are not');
  for (const p of packages) {
    mkdirSync(dirname(join(image, 'node_modules', p)), { recursive: true });
    symlinkSync(join(modules, p), join(image, 'node_modules', p), 'dir');
  }
  // Nothing above the folder may supply a package the image would not have.
  for (let dir = dirname(image); ; dir = dirname(dir)) {
    assert.ok(!existsSync(join(dir, 'node_modules')), `${dir}/node_modules would shadow the image's`);
    if (dirname(dir) === dir) break;
  }

  const [program, ...entryArgs] = runtime.entrypoint ?? [];
  assert.equal(program, 'node');
  const entry = entryArgs.map((a) => (a.startsWith('/app/') ? inImage(a) : a));
  const env = { ...process.env, ...runtime.env };
  delete env['NODE_OPTIONS'];
  // Type stripping off: a .ts module anywhere in the graph (a missed rewrite, a worker URL) fails as
  // ERR_UNKNOWN_FILE_EXTENSION instead of loading the stripper the image is built to avoid.
  const gatehouse = (args: string[]): Promise<Run> => run(process.execPath, ['--no-experimental-strip-types', ...entry, ...args], inImage('.'), env);
  const noMissingModule = (r: Run): void =>
    assert.doesNotMatch(r.stderr, /ERR_MODULE_NOT_FOUND|ERR_UNKNOWN_FILE_EXTENSION|Cannot find (module|package)/, r.stderr);

  await t.test('no TypeScript in the image: its code is what the build stage emitted', () => {
    const code = readdirSync(image, { recursive: true, withFileTypes: true }).filter((d) => !d.isDirectory() && !relative(image, d.parentPath).startsWith('node_modules'));
    const names = code.map((d) => relative(image, join(d.parentPath, d.name)).split(sep).join('/'));
    assert.deepEqual(names.filter((n) => /\.[mc]?ts$/.test(n)), []);
    for (const n of ['cli/gatehouse.js', 'proxy/subscribe/snapshot-compactor-worker.js', 'examples/demo-upstream.js', 'examples/petstore.yaml', 'package.json']) assert.ok(names.includes(n), n);
  });

  await t.test('version', async () => {
    const r = await gatehouse(['version']);
    assert.equal(r.code, 0, r.stderr);
    const { version } = JSON.parse(readFileSync(inImage('package.json'), 'utf8')) as { version: string };
    assert.match(r.stdout, new RegExp(`^gatehouse ${version.replaceAll('.', '\\.')} `));
  });

  await t.test('--help, and the CMD', async () => {
    for (const args of [['--help'], runtime.cmd ?? []]) {
      const r = await gatehouse(args);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stdout, /usage: gatehouse <command>/);
    }
  });

  await t.test('proxy --help lists its flags', async () => {
    const r = await gatehouse(['proxy', '--help']);
    assert.equal(r.code, 0, r.stderr);
    for (const flag of ['--controller', '--token-file', '--table-file', '--port', '--admin-port', '--redis-url']) assert.ok(r.stdout.includes(flag), flag);
  });

  await t.test('validate the copied examples', { skip: !existsSync(inImage('examples')) && 'examples are not copied' }, async () => {
    const r = await gatehouse(['validate', inImage('examples')]);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    noMissingModule(r);
  });

  // Without their required flags they stop at flag validation (exit 2), after importing everything they run.
  await t.test('proxy and controller load their module graph', async () => {
    const [proxy, controller] = await Promise.all([gatehouse(['proxy']), gatehouse(['controller', '--lease-duration', '0s'])]);
    noMissingModule(proxy);
    assert.equal(proxy.code, 2, proxy.stderr);
    assert.match(proxy.stderr, /gatehouse proxy: --controller .* is required/);
    noMissingModule(controller);
    assert.equal(controller.code, 2, controller.stderr);
    assert.match(controller.stderr, /gatehouse controller: bad flags\n\s+--lease-duration/);
  });

  await t.test('the image holds no test, bench or tools code', () => {
    for (const path of ['test', 'bench', 'tools', 'docs', 'charts']) assert.ok(!existsSync(join(image, path)), path);
  });
});

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, env, timeout: 60_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}
