/**
 * Child of the client memory benchmark: RSS and V8 heap in use before and after loading a bundle
 * into the store, and after rendering every prompt once. Run with --expose-gc so the figures are settled.
 */
import { readFileSync } from 'node:fs';
import { createStoreSnapshot, PromptStore } from '@anvil/client';
import type { Bundle } from '@anvil/content-schema';

const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
const text = readFileSync(process.argv[2]!, 'utf8');
gc();
const before = process.memoryUsage();
const bundle = JSON.parse(text) as Bundle;
const store = new PromptStore(createStoreSnapshot({ sets: { [bundle.set]: { bundle } } }));
gc();
const loaded = process.memoryUsage();
for (const id of Object.keys(bundle.prompts)) store.render(id, { name: 'x', items: ['a'] });
gc();
const rendered = process.memoryUsage();
console.log(JSON.stringify({
  before: before.rss, loaded: loaded.rss, rendered: rendered.rss,
  heapBefore: before.heapUsed, heapLoaded: loaded.heapUsed, heapRendered: rendered.heapUsed,
  prompts: Object.keys(bundle.prompts).length, bytes: Buffer.byteLength(text),
}));
