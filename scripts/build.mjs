// `npm run build`: what each package ships in dist/.
//
// - Declarations (.d.ts) for every package, and the server's JavaScript file by file, come
//   from `tsc -b` (server/tsconfig.build.json references the other two).
// - @anvil/content-schema and @anvil/client are bundled with esbuild: one file per entry point
//   plus shared chunks, their third-party dependencies inside. Loading a few files instead of
//   the ~1,000 that TypeBox, Ajv, Handlebars and YAML are made of is most of what an app's cold
//   start and a CLI call cost (DESIGN.md §11, start-up). Sibling packages stay imports, so an
//   app that has both loads one copy of each.
import { execFileSync } from 'node:child_process';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Entry points per bundled package: each one an `exports` target in its package.json. */
const BUNDLES = {
  'content-schema': ['src/index.ts', 'src/errors.ts'],
  client: ['src/index.ts', 'src/cli/cli-frame.ts', 'src/cli/main.ts'],
};

const GENERATED = path.join(root, 'content-schema/.build');

// A clean dist/: stale files and chunks from an earlier build must not ship.
for (const pkg of ['content-schema', 'client', 'server']) {
  await rm(path.join(root, pkg, 'dist'), { recursive: true, force: true });
}
execFileSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-b', 'server/tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
// The schemas' validators as standalone code, compiled ahead of time (validators.ts says why).
await rm(GENERATED, { recursive: true, force: true });
execFileSync(process.execPath, ['--conditions=anvil-source', '--import', 'tsx', 'content-schema/scripts/write-validators.ts', GENERATED], { cwd: root, stdio: 'inherit' });

/**
 * In the bundle, the validators come from the generated module, and Ajv itself (only needed to
 * compile a schema at run time, which a built package never does) is left out.
 */
const precompiledValidators = {
  name: 'precompiled-validators',
  setup(build) {
    build.onResolve({ filter: /\/precompiled-validators\.ts$/ }, () => ({ path: path.join(GENERATED, 'precompiled-validators.js') }));
    build.onResolve({ filter: /\/ajv-instance\.ts$/ }, () => ({ path: 'ajv-instance', namespace: 'anvil-stub' }));
    build.onLoad({ filter: /.*/, namespace: 'anvil-stub' }, () => ({
      contents: "export function compileValidator() { throw new Error('this build has no validator for that schema: add it to VALIDATED_SCHEMAS'); }",
      loader: 'js',
    }));
  },
};

for (const [pkg, entries] of Object.entries(BUNDLES)) {
  await esbuild.build({
    absWorkingDir: path.join(root, pkg),
    entryPoints: entries,
    outbase: 'src',
    outdir: 'dist',
    bundle: true,
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // Sibling packages are dependencies, resolved at run time.
    external: ['@anvil/*'],
    // Bundled CommonJS dependencies (ajv, handlebars) call require() for Node built-ins.
    banner: { js: "import { createRequire as __anvilCreateRequire } from 'node:module'; const require = __anvilCreateRequire(import.meta.url);" },
    legalComments: 'linked',
    plugins: pkg === 'content-schema' ? [precompiledValidators] : [],
    logLevel: 'warning',
  });
}
