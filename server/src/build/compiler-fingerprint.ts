/**
 * What compiled prompts depend on besides their files: the code that compiles them. Build cache
 * keys include this fingerprint, so entries written by another version of Anvil (or of
 * Handlebars, YAML…) are never reused — a cache entry must give exactly what a cold build of
 * the running code gives.
 *
 * It hashes the code itself, not version numbers (which stay 0.1.0 while the code changes):
 * every file of @anvil/client and @anvil/content-schema as they are loaded (src/ from source,
 * dist/ when built, bundled dependencies included), this folder and load/ beside it (what a set
 * and its partials are), and the versions of the third-party parsers installed beside them.
 * Computed once per process (a few milliseconds).
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Bumped when the cache's entries change shape or meaning. */
export const BUILD_CACHE_FORMAT = 'anvil.build-cache/2';

const CODE = /\.(?:[cm]?js|ts|json)$/;
const NOT_CODE = /\.d\.[cm]?ts$|\.map$/;
const PARSERS = ['handlebars', 'yaml', 'gray-matter', 'js-yaml', 'ajv', '@sinclair/typebox'];

let fingerprint: string | undefined;

export function compilerFingerprint(): string {
  fingerprint ??= compute();
  return fingerprint;
}

function compute(): string {
  const hash = createHash('sha256').update(`${BUILD_CACHE_FORMAT}\0`);
  const here = path.dirname(fileURLToPath(import.meta.url));
  const folders = [here, path.join(here, '..', 'load')];
  for (const pkg of ['@anvil/client', '@anvil/content-schema']) {
    try {
      folders.push(path.dirname(fileURLToPath(import.meta.resolve(pkg))));
    } catch (err) {
      hash.update(`${pkg}: ${String(err)}\0`);
    }
  }
  for (const folder of folders) {
    for (const file of codeFiles(folder)) hash.update(`${path.relative(folder, file)}\0`).update(readFileSync(file)).update('\0');
    const modules = nodeModulesAbove(folder);
    for (const name of PARSERS) hash.update(`${name}@${installedVersion(modules, name) ?? 'none'}\0`);
  }
  return hash.digest('hex');
}

function codeFiles(folder: string): string[] {
  try {
    return readdirSync(folder, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile() && CODE.test(e.name) && !NOT_CODE.test(e.name))
      .map((e) => path.join(e.parentPath, e.name))
      .sort();
  } catch {
    return [];
  }
}

/** The node_modules folders Node would look in from `folder`, nearest first. */
function nodeModulesAbove(folder: string): string[] {
  const found: string[] = [];
  for (let dir = folder; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'node_modules'))) found.push(path.join(dir, 'node_modules'));
    if (path.dirname(dir) === dir) return found;
  }
}

/** The version of `name` in the nearest of `modules` that has it. */
function installedVersion(modules: readonly string[], name: string): string | undefined {
  for (const dir of modules) {
    try {
      return String((JSON.parse(readFileSync(path.join(dir, name, 'package.json'), 'utf8')) as { version?: unknown }).version);
    } catch {
      // not installed here; look further up
    }
  }
  return undefined;
}
