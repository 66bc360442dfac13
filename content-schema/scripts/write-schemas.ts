/**
 * Writes `content-schema/schemas/*.schema.json` from the TypeBox sources (`npm run schemas`).
 * With `--check`, writes nothing and exits 1 when a committed file is missing or out of date.
 */
import { mkdir, readFile, readdir, unlink, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { renderSchemaFiles } from '../src/schemas/schema-files.ts';

const dir = fileURLToPath(new URL('../schemas/', import.meta.url));
const check = process.argv.includes('--check');

const files = renderSchemaFiles();
await mkdir(dir, { recursive: true });
const existing = (await readdir(dir)).filter((name) => name.endsWith('.schema.json'));
let stale = 0;

for (const [name, text] of files) {
  const current = await readFile(`${dir}${name}`, 'utf8').catch(() => undefined);
  if (current === text) continue;
  stale++;
  if (check) console.error(`out of date: schemas/${name}`);
  else await writeFile(`${dir}${name}`, text);
}
// A schema that no longer exists must not linger for editors to keep using.
for (const name of existing) {
  if (files.has(name)) continue;
  stale++;
  if (check) console.error(`no longer generated: schemas/${name}`);
  else await unlink(`${dir}${name}`);
}

if (check && stale > 0) {
  console.error('run `npm run schemas` to regenerate them');
  process.exit(1);
}
console.log(check ? 'schemas are up to date' : `wrote ${files.size} schemas to content-schema/schemas/ (${stale} changed)`);
