/**
 * Child of the client apply benchmark (bench/client.bench.ts): applies a 10 MB bundle the way the
 * receiver does, round after round, against `JSON.parse` + SHA-256 of the same bytes. Every body
 * is built before anything is timed and the heap collected once (--expose-gc), so that no timed
 * part pays for the garbage the benchmark made building them; the two parts alternate which goes
 * first, so each pays as often for the garbage the other left; and each starts after 50 ms of idle
 * time, as a push arrives at a receiver that was doing something else. What a part collects while
 * it runs is its own: keeping a 10 MB parsed bundle costs the apply young-generation copies that
 * the baseline, which drops its parse, does not pay. Prints one JSON line with the per-round figures.
 *
 * Usage: client-apply-child <workDir> <rounds>
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { canonicalJson, generateSigningKey } from '@anvil/content-schema';
import { createStoreSnapshot, PromptStore } from '@anvil/client';
import { applyEnvelope, stageEnvelope } from '../../client/src/apply/apply-envelope.ts';
import { openDiskCache } from '../../client/src/cache/disk-cache.ts';
import { checkEnvelopeYielding } from '../../client/src/receive/check-push.ts';
import { bigPrompts, envelopeOf, receiverState, sealed } from '../client.bench.ts';

const gcExtension = (globalThis as { gc?: (options?: { type: 'minor' | 'major' }) => void }).gc;
const gc = () => gcExtension?.();
const minorGc = () => gcExtension?.({ type: 'minor' });
const [dir, roundsArg] = process.argv.slice(2);
if (dir === undefined) throw new Error('usage: client-apply-child <workDir> <rounds>');
const rounds = Number(roundsArg ?? 9);
const key = generateSigningKey();
const floor: number[] = [];
const serving: number[] = [];
const durable: number[] = [];
const pauses: number[] = [];
let bytes = 0;

const bodies = Array.from({ length: rounds }, (_, round) =>
  Buffer.from(canonicalJson(envelopeOf(key, [sealed('big', `1.0.${round}`, bigPrompts(10 * 1024 * 1024, `#${round}`))]))));
const small = { bundle: sealed('small', '1.0.0', { hello: { template: 'Hi {{name}}', metadata: { config: {}, metadata: {}, ext: {} }, variants: {} } }) };
const store = new PromptStore(createStoreSnapshot({ sets: { small } }));
gc();
const idle = () => new Promise((resolve) => setTimeout(resolve, 50));

async function baseline(bytesIn: Buffer): Promise<void> {
  await idle();
  const t = performance.now();
  JSON.parse(bytesIn.toString('utf8'));
  createHash('sha256').update(bytesIn).digest('base64');
  floor.push(performance.now() - t);
}

for (let round = 0; round < rounds; round++) {
  const bytesIn = bodies[round]!;
  bytes = bytesIn.length;
  if (round % 2 === 0) await baseline(bytesIn);

  // A receiver that has been running: its cache directory and a state are there already, and it
  // serves the previous round's bundle.
  const cache = openDiskCache(path.join(dir, `apply-${round}`));
  const current = receiverState(key, `bench-${round}`);
  await cache.commit(current);
  await idle();

  // A render loop runs beside the apply; its longest gap is the pause an app would see.
  let last = performance.now();
  let longest = 0;
  let running = true;
  const loop = () => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
    store.render('hello', { name: 'x' });
    if (running) setImmediate(loop);
  };
  setImmediate(loop);

  // The receiver's own path (what a push or a pull runs once its sender is authenticated):
  // stage the bundle bytes to disk, check the envelope (yielding between parse and checks),
  // then apply it — swapped in once verified, resolved once the bundle file and state.json are
  // durable.
  let servedAt = 0;
  const t = performance.now();
  const intake = stageEnvelope(cache, bytesIn);
  const checked = await checkEnvelopeYielding(bytesIn, { project: 'bench', channel: 'production', forgeKeys: current.forgeKeys, versions: {}, rollouts: {}, ranges: {} }, { spans: intake.spans });
  if (!checked.ok) throw new Error(checked.rejection.reason);
  await applyEnvelope({
    cache, current, known: new Map(), envelope: checked.envelope, bytes: checked.bundleBytes, staged: intake.staged,
    serve: (_state, bundles) => {
      const replaced = store.swap(createStoreSnapshot({ sets: { small, big: { bundle: [...bundles.values()][0]! } }, previous: store.current() }));
      servedAt = performance.now();
      return () => store.swap(replaced);
    },
  });
  durable.push(performance.now() - t);
  serving.push(servedAt - t);
  running = false;
  pauses.push(longest);
  await intake.discard();
  if (!store.render('group0.prompt0', { name: 'x' }).startsWith(`Prompt 0#${round}: hello x.`)) throw new Error('the applied bundle is not served');
  if (round % 2 === 1) await baseline(bytesIn);
}
// For the record: the least any receiver that keeps the parsed bundle pays — the baseline, plus
// the two young-generation collections that move what it parsed to the old generation (the
// baseline drops its parse, so it never pays them).
const kept: number[] = [];
for (const bytesIn of bodies) {
  store.swap(createStoreSnapshot({ sets: { small } }));
  gc();
  await idle();
  const t = performance.now();
  const parsed: unknown = JSON.parse(bytesIn.toString('utf8'));
  createHash('sha256').update(bytesIn).digest('base64');
  minorGc();
  minorGc();
  kept.push(performance.now() - t);
  if (parsed === undefined) throw new Error('unreachable');
}
console.log(JSON.stringify({ bytes, floor, serving, durable, pauses, kept }));
