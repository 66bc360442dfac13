/**
 * Child of the client apply benchmark (bench/client.bench.ts): applies a 10 MB bundle the way the
 * receiver does, round after round, against `JSON.parse` + SHA-256 of the same bytes. Run with
 * --expose-gc: the heap is collected before each timed part, so that neither part pays for the
 * garbage the benchmark itself made (building the next body, the other part's parse) — what each
 * part collects is its own. Prints one JSON line with the per-round figures.
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

const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
const [dir, roundsArg] = process.argv.slice(2);
if (dir === undefined) throw new Error('usage: client-apply-child <workDir> <rounds>');
const rounds = Number(roundsArg ?? 9);
const key = generateSigningKey();
const floor: number[] = [];
const serving: number[] = [];
const durable: number[] = [];
const pauses: number[] = [];
let bytes = 0;

for (let round = 0; round < rounds; round++) {
  const bytesIn = Buffer.from(canonicalJson(envelopeOf(key, [sealed('big', `1.0.${round}`, bigPrompts(10 * 1024 * 1024, `#${round}`))])));
  bytes = bytesIn.length;
  gc();
  let t = performance.now();
  JSON.parse(bytesIn.toString('utf8'));
  createHash('sha256').update(bytesIn).digest('base64');
  floor.push(performance.now() - t);

  // A receiver that has been running: its cache directory and a state are there already.
  const cache = openDiskCache(path.join(dir, `apply-${round}`));
  const current = receiverState(key, `bench-${round}`);
  await cache.commit(current);
  const small = { bundle: sealed('small', '1.0.0', { hello: { template: 'Hi {{name}}', metadata: { config: {}, metadata: {}, ext: {} }, variants: {} } }) };
  const store = new PromptStore(createStoreSnapshot({ sets: { small } }));
  gc();

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
  t = performance.now();
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
  await new Promise((r) => setImmediate(r));
}
console.log(JSON.stringify({ bytes, floor, serving, durable, pauses }));
