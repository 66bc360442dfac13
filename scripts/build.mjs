// `npm run build`: what each package ships in dist/.
//
// - Declarations (.d.ts) for every package come from `tsc -b` (server/tsconfig.build.json
//   references the other two).
// - The JavaScript is bundled with esbuild: one file per entry point (each an `exports` target
//   or a bin's module) plus shared chunks that load only when used. Loading a few files instead
//   of the ~1,500 that TypeBox, Ajv, Handlebars, YAML and isomorphic-git are made of (and, for
//   CommonJS ones, lexing each to find its exports) is most of what an app's cold start and a
//   CLI call cost (DESIGN.md §11, start-up).
//   - @anvil/content-schema: its dependencies inside, its validators compiled ahead of time.
//   - @anvil/client: its dependencies inside; @anvil/content-schema stays an import, so an app
//     that has both loads one copy.
//   - @anvil/server: the authoring path inside (its own code, the client's and content-schema's,
//     and the pure-JavaScript libraries every command needs), so a CLI call loads each library
//     once; the forge's own dependencies (Express, Octokit, Kysely, SQLite and PostgreSQL's pg,
//     pino, prom-client, simple-git, chokidar) stay imports of installed packages.
import { execFileSync } from 'node:child_process';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const GENERATED = path.join(root, 'content-schema/.build');

/** What the server leaves to its installed dependencies: the forge's, and the native one. */
const SERVER_EXTERNAL = [
  '@anvil/content-schema/schemas/*', 'better-sqlite3', 'pg', 'express', 'octokit', '@octokit/*', 'kysely', 'pino', 'prom-client', 'simple-git', 'chokidar',
  '@modelcontextprotocol/sdk', '@modelcontextprotocol/sdk/*',
];

const BUNDLES = {
  'content-schema': { entries: ['src/index.ts', 'src/errors.ts'], external: [] },
  // The MCP SDK is an optional peer of the client (src/mcp/mcp-server.ts says why): imported, never bundled.
  client: { entries: ['src/index.ts', 'src/cli/cli-frame.ts', 'src/cli/main.ts', 'src/mcp/index.ts'], external: ['@anvil/content-schema', '@anvil/content-schema/*', '@modelcontextprotocol/sdk', '@modelcontextprotocol/sdk/*'] },
  // The build's worker threads start dist/build/compile-worker.js by its path.
  server: { entries: ['src/index.ts', 'src/cli/main.ts', 'src/build/compile-worker.ts'], external: SERVER_EXTERNAL },
};

// A clean dist/: stale files and chunks from an earlier build must not ship.
for (const pkg of Object.keys(BUNDLES)) {
  await rm(path.join(root, pkg, 'dist'), { recursive: true, force: true });
}
execFileSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-b', 'server/tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
// The schemas' validators as standalone code, compiled ahead of time (validators.ts says why).
await rm(GENERATED, { recursive: true, force: true });
execFileSync(process.execPath, ['--conditions=anvil-source', '--import', 'tsx', 'content-schema/scripts/write-validators.ts', GENERATED], { cwd: root, stdio: 'inherit' });

/**
 * In a bundle, the validators come from the generated module, and Ajv itself (only needed to
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

for (const [pkg, { entries, external }] of Object.entries(BUNDLES)) {
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
    // Sibling packages that are bundled in are read from their TypeScript sources.
    conditions: ['anvil-source'],
    external,
    // Bundled CommonJS dependencies (ajv, handlebars) call require() for Node built-ins.
    banner: { js: "import { createRequire as __anvilCreateRequire } from 'node:module'; const require = __anvilCreateRequire(import.meta.url);" },
    legalComments: 'linked',
    plugins: [precompiledValidators],
    logLevel: 'warning',
  });
}
