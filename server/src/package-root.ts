/**
 * @anvil/server's own folder (its package.json, `templates/`), found from any of its modules. A
 * path relative to `import.meta.url` would not do: the module is in `src/` when run from source,
 * and in `dist/` or one of the build's shared chunks (`dist/chunks/`) when installed.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE_NAME = '@anvil/server';
let root: string | undefined;

function findRoot(from: string): string {
  for (let dir = path.dirname(from); ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === PACKAGE_NAME) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json of ${PACKAGE_NAME} above ${from}: this installation is broken`);
  }
}

/** A path inside the package, e.g. `packageFile('templates', 'init')`. */
export function packageFile(...segments: string[]): string {
  root ??= findRoot(fileURLToPath(import.meta.url));
  return path.join(root, ...segments);
}
