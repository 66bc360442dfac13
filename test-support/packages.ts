/**
 * The packages as users get them: built, packed with `npm pack`, installed from the tarballs
 * into folders outside this repository, and run with plain `node`. Shared by the pack test
 * (test/pack.test.ts) and the start-up benchmark (bench/startup.bench.ts).
 */
import { spawn } from 'node:child_process';
import { access, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Each published package: its folder in this repository and its npm name. */
export const PACKAGES = {
  'content-schema': '@anvil/content-schema',
  client: '@anvil/client',
  server: '@anvil/server',
} as const;
export type PackageDir = keyof typeof PACKAGES;
export type Tarballs = Record<PackageDir, string>;

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The environment of a user's shell: no npm_* variables from an `npm test` around us (npm
 * reads npm_config_* as its own configuration; npm_config_local_prefix would make every npm
 * call below think it runs inside this repository), no NODE_OPTIONS, no tsx.
 */
export function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^npm_/i.test(key) || key === 'INIT_CWD' || key === 'NODE_OPTIONS' || key === 'NODE_PATH') continue;
    env[key] = value;
  }
  return { ...env, NO_COLOR: '1', ...extra };
}

/** Runs a command to its end; never rejects on a non-zero exit (the caller asserts on it). */
export function run(command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number }): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? userEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    // A command that exits without reading its input closes the pipe first: EPIPE then says
    // nothing about the command, whose exit code the caller checks.
    child.stdin.on('error', () => {});
    child.stdin.end(options.input ?? '');
  });
}

/** `run`, but a non-zero exit throws with everything the command printed. */
export async function runOk(command: string, args: string[], options: Parameters<typeof run>[2]): Promise<Run> {
  const result = await run(command, args, options);
  if (result.code !== 0) {
    throw new Error(`${command} ${args.join(' ')} (in ${options.cwd}) exited ${result.code}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`);
  }
  return result;
}

/** `npm run build` in this repository: dist/ of every package, as `npm pack` ships it. */
export async function buildPackages(): Promise<void> {
  await runOk(process.execPath, [path.join(REPO_ROOT, 'scripts/build.mjs')], { cwd: REPO_ROOT, env: userEnv() });
}

/**
 * `npm pack` of every package into `dest` (after `buildPackages`; the build is not run again
 * per package). Returns each tarball's path.
 */
export async function packPackages(dest: string): Promise<Tarballs> {
  await mkdir(dest, { recursive: true });
  await runOk('npm', ['pack', '--ignore-scripts', '--pack-destination', dest, ...Object.keys(PACKAGES).flatMap((dir) => ['-w', dir])], { cwd: REPO_ROOT, env: userEnv() });
  const files = await readdir(dest);
  const tarballs = {} as Tarballs;
  for (const [dir, name] of Object.entries(PACKAGES) as [PackageDir, string][]) {
    const prefix = `${name.replace('@', '').replace('/', '-')}-`;
    const file = files.find((f) => f.startsWith(prefix) && f.endsWith('.tgz'));
    if (!file) throw new Error(`npm pack wrote no tarball for ${name} into ${dest}`);
    tarballs[dir] = path.join(dest, file);
  }
  return tarballs;
}

export interface InstallOptions {
  /** `npm install -D` (a prompt repository's tooling) instead of a dependency. */
  dev?: boolean;
  /** Skip install scripts (better-sqlite3's native build) where the run needs no SQLite. */
  ignoreScripts?: boolean;
  /** package.json to start from when the folder has none. */
  packageJson?: Record<string, unknown>;
}

/**
 * Installs tarballs into `dir` as a user would (`npm install <package>`), standing in for the
 * registry for our packages; every other package comes from the npm cache first, then the
 * registry. Returns npm's output, for checks such as "no EBADENGINE".
 */
export async function installTarballs(dir: string, tarballs: string[], options: InstallOptions = {}): Promise<Run> {
  await mkdir(dir, { recursive: true });
  const manifest = path.join(dir, 'package.json');
  if (!(await readFile(manifest, 'utf8').catch(() => undefined))) {
    await writeFile(manifest, `${JSON.stringify(options.packageJson ?? { name: path.basename(dir).toLowerCase(), version: '1.0.0', private: true }, null, 2)}\n`);
  }
  return runOk('npm', [
    'install', ...(options.dev ? ['--save-dev'] : []), '--prefer-offline', '--no-audit', '--no-fund',
    ...(options.ignoreScripts ? ['--ignore-scripts'] : []), ...tarballs,
  ], { cwd: dir, env: userEnv() });
}

/** The version of a package installed in this repository (to install the same one elsewhere). */
export async function repoVersionOf(name: string): Promise<string> {
  const manifest = JSON.parse(await readFile(path.join(REPO_ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string };
  return manifest.version;
}

/**
 * Lets installs in folders under `root` take the better-sqlite3 binary this checkout already
 * built, instead of compiling SQLite again (about 90 s on a 2-core machine, where no prebuilt
 * binary can be downloaded): the binary is packed as the prebuilt archive prebuild-install looks
 * for, and `root/.prebuild-installrc` (read by prebuild-install, which better-sqlite3's install
 * script runs, from the folders above the package) names it as a local prebuild. The install is
 * otherwise the user's: the same package from the npm cache or registry, its install script run.
 * Same machine, same Node ABI, same version, so the same binary a source build would give.
 * `ANVIL_PACK_SQLITE_FROM_SOURCE=1` skips this (the full user experience, build included).
 * False when there is nothing to offer (no built binary here) or it was skipped.
 */
export async function offerBuiltSqlite(root: string): Promise<boolean> {
  if (process.env['ANVIL_PACK_SQLITE_FROM_SOURCE'] === '1') return false;
  const pkg = path.join(REPO_ROOT, 'node_modules', 'better-sqlite3');
  const binary = path.join(pkg, 'build', 'Release', 'better_sqlite3.node');
  if (!(await access(binary).then(() => true, () => false))) return false;
  const version = await repoVersionOf('better-sqlite3');
  // prebuild-install's file name: {name}-v{version}-{runtime}-v{abi}-{platform}{libc}-{arch}.tar.gz (libc empty for glibc).
  const prebuilds = path.join(root, 'prebuilds');
  await mkdir(prebuilds, { recursive: true });
  const archive = path.join(prebuilds, `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`);
  await runOk('tar', ['-czf', archive, 'build/Release/better_sqlite3.node'], { cwd: pkg });
  await writeFile(path.join(root, '.prebuild-installrc'), `local-prebuilds=${prebuilds}\n`);
  return true;
}
