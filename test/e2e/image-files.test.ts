// The container image (Dockerfile, .dockerignore) without a container engine: every path the Dockerfile copies
// from the build context exists and .dockerignore keeps it (and keeps test/, bench/, tools/, .git, node_modules
// out); the runtime stage is the one the chart expects (uid 65532, exec-form `node cli/gatehouse.ts` entrypoint,
// production dependencies only); and the image's files are enough to run it: the runtime stage's COPY lines are
// replayed into a temporary folder (the .dockerignore applied), next to the production dependency tree, and the
// ENTRYPOINT runs from there — `version`, `--help`, `validate` on the copied examples, and `proxy` / `controller`
// far enough to load their whole module graph. A folder missing from the COPY list fails here as ERR_MODULE_NOT_FOUND.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, posix, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { parseDockerfile, parseDockerignore, type Stage } from '../support/dockerfile.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const stages = parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
const dockerignore = parseDockerignore(readFileSync(join(ROOT, '.dockerignore'), 'utf8'));
const runtime = stages.at(-1) as Stage;
const contextCopies = stages.flatMap((s) => s.copies.filter((c) => c.from === undefined));

/** Every file (not folder) under a context path, relative to the context root. */
function filesUnder(path: string): string[] {
  const abs = join(ROOT, path);
  if (!statSync(abs).isDirectory()) return [path];
  return readdirSync(abs, { recursive: true, withFileTypes: true })
    .filter((d) => !d.isDirectory())
    .map((d) => relative(ROOT, join(d.parentPath, d.name)).split(sep).join('/'));
}

test('the runtime stage: Node 24 slim, uid 65532 like the chart, exec-form `node cli/gatehouse.ts`, production dependencies only', () => {
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
  assert.deepEqual(runtime.entrypoint, ['node', '/app/cli/gatehouse.ts']);

  // node_modules comes only from a stage that ran `npm ci --omit=dev`, never from the build context.
  const modules = runtime.copies.filter((c) => c.sources.some((s) => /node_modules/.test(s)));
  assert.equal(modules.length, 1, 'one node_modules COPY');
  const deps = stages.find((s) => s.name === modules[0]!.from);
  assert.ok(deps, `--from=${modules[0]!.from} is a stage`);
  assert.ok(deps.runs.some((r) => /\bnpm ci\b.*--omit=dev/.test(r)), 'the dependency stage runs npm ci --omit=dev');
  // Explicit lists, so this test knows the image's files.
  for (const c of contextCopies) assert.ok(!c.sources.includes('.'), `line ${c.line}: no \`COPY . \``);
});

test('every path copied from the build context exists and .dockerignore keeps it; test/, bench/, tools/ and the rest stay out', () => {
  assert.ok(contextCopies.length > 0);
  for (const copy of contextCopies) {
    for (const source of copy.sources) {
      assert.ok(existsSync(join(ROOT, source)), `Dockerfile line ${copy.line}: ${source} does not exist`);
      assert.equal(dockerignore.ignored(source), false, `Dockerfile line ${copy.line}: .dockerignore leaves out ${source}`);
      const kept = filesUnder(source).filter((f) => !dockerignore.ignored(f));
      assert.ok(kept.length > 0, `${source}: .dockerignore leaves none of its files`);
    }
  }
  for (const path of ['test', 'test/e2e/image-files.test.ts', 'bench', 'tools', 'docs', '.git', '.ci', 'node_modules', 'node_modules/zod/package.json', '.scratch', 'Dockerfile', 'cli/node_modules', 'debug.log']) {
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

test('the entrypoint runs with exactly the files the runtime stage copies (from a temporary folder)', async (t) => {
  const image = mkdtempSync(join(tmpdir(), 'gatehouse-image-'));
  t.after(() => rmSync(image, { recursive: true, force: true }));
  const inImage = (path: string): string => {
    const abs = posix.resolve(runtime.workdir, path);
    assert.ok(abs === '/app' || abs.startsWith('/app/'), `${path}: the image's files live under /app`);
    return join(image, posix.relative('/app', abs));
  };

  // Replay the runtime stage's context COPY lines (Docker semantics: a folder's contents go into dest; a file goes
  // to dest, or into it when dest ends with `/` or there are several sources), leaving out .dockerignore's paths.
  for (const copy of runtime.copies.filter((c) => c.from === undefined)) {
    const into = copy.dest.endsWith('/') || copy.sources.length > 1;
    for (const source of copy.sources) {
      const from = join(ROOT, source);
      const to = statSync(from).isDirectory() || !into ? inImage(copy.dest) : join(inImage(copy.dest), basename(source));
      mkdirSync(dirname(to), { recursive: true });
      cpSync(from, to, {
        recursive: true,
        filter: (src) => src === from || !dockerignore.ignored(relative(ROOT, src).split(sep).join('/')),
      });
    }
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
  const gatehouse = (args: string[]): Promise<Run> => run(process.execPath, [...entry, ...args], inImage('.'), env);
  const noMissingModule = (r: Run): void => assert.doesNotMatch(r.stderr, /ERR_MODULE_NOT_FOUND|Cannot find (module|package)/, r.stderr);

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
