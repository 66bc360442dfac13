/**
 * Child of the client memory benchmark: RSS and V8 heap in use before and after a receiver
 * loads a 10,000-prompt bundle from its disk cache and swaps it in (as an app starts), and after
 * rendering every prompt once. Run with --expose-gc so the figures are settled.
 *
 * Usage: client-memory-child <bundle.json> <cacheDir>
 */
import { readFileSync } from 'node:fs';
import { generateSigningKey, signIntegrity, type Bundle } from '@anvil/content-schema';
import { createStoreSnapshot, PromptStore } from '@anvil/client';
import { openDiskCache } from '../../client/src/cache/disk-cache.ts';
import { receiverState } from '../client.bench.ts';

const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
const [bundleFile, cacheDir] = process.argv.slice(2);
if (bundleFile === undefined || cacheDir === undefined) throw new Error('usage: client-memory-child <bundle.json> <cacheDir>');

// The cache as a receiver left it: the bundle file and a state naming it, signed by its forge.
const key = generateSigningKey();
const prepared = await (async () => {
  const bytes = readFileSync(bundleFile);
  const { set, version, integrity } = JSON.parse(bytes.toString('utf8')) as Bundle;
  const cache = openDiskCache(cacheDir);
  await cache.writeBundle(bytes, integrity);
  await cache.commit({
    ...receiverState(key, 'bench-memory'),
    sets: { [set]: { version, integrity } },
    bundles: { [integrity]: { set, version, signatures: [signIntegrity(key, integrity)] } },
  });
  return { set, size: bytes.length };
})();
gc();
const before = process.memoryUsage();
const loaded = await openDiskCache(cacheDir).load();
const bundle = [...(loaded?.bundles.values() ?? [])][0];
if (bundle === undefined) throw new Error(`the cache did not load: ${JSON.stringify(loaded?.problems)}`);
const store = new PromptStore(createStoreSnapshot({ sets: { [prepared.set]: { bundle } } }));
gc();
const afterLoad = process.memoryUsage();
const ids = Object.keys(bundle.prompts);
const started = performance.now();
for (const id of ids) store.render(id, { name: 'x', items: ['a'] });
const firstRenders = performance.now() - started;
gc();
const rendered = process.memoryUsage();
console.log(JSON.stringify({
  before: before.rss, loaded: afterLoad.rss, rendered: rendered.rss,
  heapBefore: before.heapUsed, heapLoaded: afterLoad.heapUsed, heapRendered: rendered.heapUsed,
  externalBefore: before.external + before.arrayBuffers, externalLoaded: afterLoad.external + afterLoad.arrayBuffers,
  prompts: ids.length, bytes: prepared.size, firstRenders,
}));
