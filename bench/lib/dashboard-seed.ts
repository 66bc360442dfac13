/**
 * A forge's store as the dashboard benchmark needs it (issue 15): one project `acme` with
 * 10,000 prompts — 100 sets of 90 prompts and one set `catalog` of 1,000, ~10% of prompts with a
 * variant — several releases of some sets, rollouts, 1,000 registered receivers across the
 * channels with their last delivery, and a few access tokens.
 *
 * Building 10,000 prompts through git costs more than the pages measured, so the files are
 * generated in memory (seeded PRNG: the same bundles on every run) and built by the forge's own
 * builder (`loadRepo` over a memory snapshot, `buildSet`); each release then goes through what
 * the forge's sync does with a release tag — the policy's decision recorded
 * (`recordReleaseDecision`), audited, published (`publishBundle`) — and each receiver registers
 * through `recordReceiverCall`, as `POST …/receivers` does. Only the git tags are left out.
 */
import { createHash } from 'node:crypto';
import type { Bundle } from '@anvil/content-schema';
import { createAccessToken, revokeAccessToken } from '../../server/src/access/access-tokens.ts';
import { buildSet } from '../../server/src/build/build-set.ts';
import type { ForgeContext } from '../../server/src/forge/forge-context.ts';
import { loadRepo, type PartialFile } from '../../server/src/load/load-repo.ts';
import { decidePublish } from '../../server/src/policy/decide-publish.ts';
import { saveBundle } from '../../server/src/publish/bundle-store.ts';
import { publishBundle } from '../../server/src/publish/publish-bundle.ts';
import { recordReleaseDecision } from '../../server/src/publish/release-decisions.ts';
import { recordReceiverCall } from '../../server/src/receivers/register-receiver.ts';
import { memorySnapshot } from '../../server/src/repo/snapshot.ts';
import { appendAudit, appendAuditEntries } from '../../server/src/store/audit-log.ts';
import { storeTime } from '../../server/src/store/open-store.ts';

export const PROJECT = 'acme';
/** The large set, and a regular one with three releases: the pages the bench opens. */
export const LARGE_SET = 'catalog';
export const REGULAR_SET = 'support-01';

const SETS = 100;
const PROMPTS_PER_SET = 90;
const LARGE_PROMPTS = 1_000;
const RECEIVERS = 1_000;
const TOKENS = 12;
const CHANNELS = ['production', 'staging', 'development'] as const;
const BASE_TIME = Date.parse('2026-11-01T09:00:00Z');

export interface SeedFacts {
  sets: number;
  prompts: number;
  variants: number;
  bundles: number;
  /** Bytes of the stored bundles' JSON. */
  bundleBytes: number;
  largeSet: { name: string; versions: string[]; prompts: number; bytes: number };
  regularSet: { name: string; versions: string[]; prompts: number };
  rollouts: number;
  receivers: Record<string, number>;
  tokens: number;
  auditRows: number;
  seedMs: number;
}

/** mulberry32, as bench/lib/bigset.ts: the same sequence everywhere for one seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = ('the customer account order invoice shipment refund policy team product release update ' +
  'request answer summary context detail example reply message tone language support billing plan ' +
  'feature issue report draft review note owner region market partner contract renewal schedule')
  .split(' ');
const FIELDS = ['name', 'company', 'question', 'topic', 'product', 'region', 'plan', 'orderId', 'language', 'audience', 'goal', 'deadline'];
const AREAS = ['billing', 'support', 'onboarding', 'sales', 'search', 'legal', 'growth', 'ops', 'docs', 'mail'];

interface SetPlan {
  name: string;
  mode: 'locked' | 'review' | 'live';
  prompts: number;
  /** Releases in order; each after the first changes a few prompts and adds one. */
  versions: string[];
  /** A rollout of the last version on production (locked sets only). */
  rollout?: number;
}

/** Which sets exist, their modes and releases: every tenth set has three releases, three of those a rollout. */
export function plans(): SetPlan[] {
  const out: SetPlan[] = [{ name: 'core', mode: 'locked', prompts: PROMPTS_PER_SET, versions: ['1.0.0'] }];
  for (let i = 1; i < SETS; i++) {
    const name = `${AREAS[i % AREAS.length]}-${String(i).padStart(2, '0')}`;
    const mode = i % 13 === 5 ? 'live' : i % 7 === 3 ? 'review' : 'locked';
    const several = i % 10 === 1;
    const plan: SetPlan = { name, mode, prompts: PROMPTS_PER_SET, versions: several ? ['1.0.0', '1.1.0', '1.2.0'] : ['1.0.0'] };
    if (several && mode === 'locked' && i < 40) plan.rollout = 25;
    out.push(plan);
  }
  out.push({ name: LARGE_SET, mode: 'locked', prompts: LARGE_PROMPTS, versions: ['1.0.0', '1.1.0'] });
  return out;
}

/** The files of one set at one of its releases (`revision` 0 for the first). */
function setFiles(plan: SetPlan, revision: number): { files: Record<string, string>; variants: number } {
  const random = prng(createHash('sha256').update(plan.name).digest().readUInt32LE(0));
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const sentence = (min: number, max: number): string => {
    const n = min + Math.floor(random() * (max - min + 1));
    return `${Array.from({ length: n }, () => pick(WORDS)).join(' ').replace(/^./, (c) => c.toUpperCase())}.`;
  };
  const dir = `prompts/${plan.name}`;
  const files: Record<string, string> = { 'anvil.yaml': 'name: "@acme"\n' };
  files[`${dir}/set.yaml`] = `description: ${sentence(4, 10)}\nmode: ${plan.mode}\n${plan.name === 'core' ? '' : 'dependencies:\n  core: ^1.0.0\n'}`;
  files[`${dir}/_intro.md`] = `${sentence(8, 20)} {{#if company}}({{company}}){{/if}}\n`;
  files[`${dir}/common/_footer.md`] = `${sentence(5, 14)}\n`;
  if (plan.name === 'core') {
    files[`${dir}/_signature.md`] = '— The {{company}} team';
    files[`${dir}/_disclaimer.md`] = 'This answer was drafted with help from an assistant; check anything that matters.';
  }
  const count = plan.prompts + revision;
  let variants = 0;
  for (let p = 0; p < count; p++) {
    const rel = `topic${String(Math.floor(p / 30)).padStart(2, '0')}/prompt_${String(p).padStart(4, '0')}`;
    // Sizes spread log-uniformly from ~200 B to ~3 KB, as real prompts are mostly short.
    const target = Math.round(200 * Math.exp(random() * Math.log(15)));
    const fields = FIELDS.slice(0, 1 + Math.floor(random() * 5));
    let text = promptFile(fields, target, random, pick, sentence, plan.name !== 'core');
    // A later release changes a few prompts (every 17th, shifted by the revision).
    if (revision > 0 && p % 17 === (revision * 5) % 17) text += `Revision ${revision}: answer in at most ${revision + 2} sentences.\n`;
    files[`${dir}/${rel}.md`] = text;
    const r = random();
    if (r < 0.06) {
      files[`${dir}/${rel}.fr.md`] = `---\ndescription: ${sentence(3, 8)}\ntags:\n  locale: fr\ninput:\n  schema:\n${fields.map((f) => `    ${f}: string`).join('\n')}\n---\n${sentence(6, 14)} {{${fields[0]}}}.\n`;
      variants++;
    } else if (r < 0.1) {
      files[`${dir}/${rel}.formal.md`] = `---\ndescription: ${sentence(3, 8)}\ntags:\n  tone: formal\ninput:\n  schema:\n${fields.map((f) => `    ${f}: string`).join('\n')}\n---\n${sentence(6, 14)} {{${fields[0]}}}.\n`;
      variants++;
    }
  }
  return { files, variants };
}

function promptFile(
  fields: string[], target: number, random: () => number, pick: <T>(list: readonly T[]) => T, sentence: (min: number, max: number) => string, withCore: boolean,
): string {
  const schema = fields.map((f, i) => {
    if (f === 'plan') return '    plan(enum): [free, pro, enterprise]';
    if (i === fields.length - 1 && fields.length > 2) return `    ${f}?: string, optional ${f}`;
    return `    ${f}: string`;
  });
  const withList = random() < 0.4;
  const withFlag = random() < 0.5;
  if (withList) schema.push('    items?(array, things to mention): string');
  if (withFlag) schema.push('    urgent?: boolean');
  const lines = ['---', `description: ${sentence(4, 12)}`];
  if (random() < 0.5) lines.push('model: googleai/gemini-2.5-flash', 'config:', `  temperature: ${random().toFixed(1)}`);
  lines.push('input:', '  schema:', ...schema);
  if (random() < 0.6) lines.push('  default:', `    ${fields[0]}: ${pick(WORDS)}`);
  lines.push('---');
  const body: string[] = [];
  if (random() < 0.3) body.push('{{role "system"}}', `You help ${fields.includes('company') ? '{{company}}' : 'the team'} with ${sentence(3, 8)}`, '{{role "user"}}');
  body.push(`${sentence(6, 18)} {{${fields[0]}}}.`);
  if (withFlag) body.push('{{#if urgent}}This is urgent: answer first, explain after.{{else}}Take the time to explain.{{/if}}');
  if (withList) body.push('{{#each items}}- {{this}}', '{{/each}}');
  if (random() < 0.25) body.push(random() < 0.5 ? '{{> intro}}' : '{{> common/footer}}');
  if (withCore && random() < 0.1) body.push('{{> core/signature}}');
  let text = `${lines.join('\n')}\n${body.join('\n')}\n`;
  while (text.length < target) text += `${sentence(8, 24)} {{${pick(fields)}}} ${sentence(4, 12)}\n`;
  return text;
}

const hex40 = (text: string) => createHash('sha1').update(text).digest('hex');

/** Builds one release with the forge's builder, from files in memory. */
export async function buildRelease(plan: SetPlan, revision: number, corePartials: PartialFile[]): Promise<{ bundle: Bundle; variants: number }> {
  const version = plan.versions[revision]!;
  const { files, variants } = setFiles(plan, revision);
  const tag = `${plan.name}@${version}`;
  const repo = await loadRepo(memorySnapshot(files, tag));
  const built = await buildSet({
    project: PROJECT, repo, set: plan.name, version, stage: 'release',
    source: {
      commit: hex40(`commit ${tag}`), tag, tree: hex40(JSON.stringify(files)),
      committedAt: new Date(BASE_TIME + revision * 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    },
    releases: {}, pinnedDependencies: plan.name === 'core' ? {} : { core: '1.0.0' },
    dependencyPartials: async (set) => (set === 'core' ? corePartials : undefined), threads: 1,
  });
  if (!built.bundle) throw new Error(`building ${tag} failed: ${built.problems.map((p) => `${p.code} ${p.message}`).join('; ')}`);
  return { bundle: built.bundle, variants };
}

/** What the forge's sync does with a new release tag once it is built (forge/sync-project.ts syncRelease). */
async function release(ctx: ForgeContext, bundle: Bundle): Promise<void> {
  // The sync stores a bundle when it builds it, before the policy decides (a rollout may need it).
  await saveBundle(ctx, bundle);
  const tag = { name: `${bundle.set}@${bundle.version}`, set: bundle.set, version: bundle.version, commit: bundle.source.commit, tagObject: hex40(`tag ${bundle.set}@${bundle.version}`) };
  const decision = await recordReleaseDecision(ctx, PROJECT, tag, bundle, decidePublish({ event: { kind: 'release', prerelease: false, unreviewedChange: false }, mode: bundle.mode, lintErrors: false }));
  await appendAudit(ctx.db, {
    project: PROJECT, kind: decision.audit, subject: `${bundle.set} ${tag.name}`, actor: 'forge',
    detail: { reason: decision.reason, ...(decision.publish ? { channels: decision.publish.channels, stage: decision.publish.stage } : {}) },
  });
  if (decision.publish) await publishBundle(ctx, { project: PROJECT, bundle, channels: decision.publish.channels, reason: decision.reason, actor: 'forge' });
  // The sync records where the set stands on the branch (sync-project.ts saveSetState): its mode
  // and review state, which the projects pages read.
  const values = {
    mode: bundle.mode, dir: `prompts/${bundle.set}`, branch: 'main', commit: bundle.source.commit, review: bundle.mode === 'live' ? 'not-needed' as const : 'reviewed' as const,
    unreviewed: '[]', updated_at: storeTime(),
  };
  await ctx.db.insertInto('set_states').values({ project: PROJECT, set_name: bundle.set, ...values })
    .onConflict((oc) => oc.columns(['project', 'set_name']).doUpdateSet(values)).execute();
}

export async function seedDashboardForge(ctx: ForgeContext, progress: (line: string) => void = () => undefined): Promise<SeedFacts> {
  const started = performance.now();
  const all = plans();
  let prompts = 0;
  let variants = 0;
  let bundles = 0;
  let bundleBytes = 0;
  let corePartials: PartialFile[] = [];
  const largeBytes: number[] = [];
  const served = new Map<string, Record<string, string>>(CHANNELS.map((c) => [c, {}]));
  for (const [i, plan] of all.entries()) {
    for (let revision = 0; revision < plan.versions.length; revision++) {
      const version = plan.versions[revision]!;
      const { bundle, variants: v } = await buildRelease(plan, revision, corePartials);
      if (plan.name === 'core') corePartials = Object.entries(bundle.partials).map(([name, source]) => ({ file: `prompts/core/_${name}.md`, name, source }));
      // A rollout, as anvil.yaml would declare it on the branch before the release is tagged.
      if (plan.rollout !== undefined && revision === plan.versions.length - 1) {
        await ctx.db.insertInto('rollouts').values({ project: PROJECT, set_name: plan.name, channel: 'production', version, percent: plan.rollout }).execute();
        await appendAudit(ctx.db, {
          project: PROJECT, kind: 'decision.rollout', subject: `${plan.name} main@${bundle.source.commit.slice(0, 7)}`, actor: 'forge',
          detail: { rollouts: [{ set: plan.name, channel: 'production', version, percent: plan.rollout }], previous: [], reason: 'rollout change accepted' },
        });
      }
      await release(ctx, bundle);
      bundles++;
      const bytes = Buffer.byteLength(JSON.stringify(bundle));
      bundleBytes += bytes;
      if (plan.name === LARGE_SET) largeBytes.push(bytes);
      if (revision === plan.versions.length - 1) {
        prompts += Object.keys(bundle.prompts).length;
        variants += v;
      }
    }
    if ((i + 1) % 20 === 0 || i === all.length - 1) progress(`dashboard: built and published ${i + 1}/${all.length} sets`);
  }
  for (const head of await ctx.db.selectFrom('channel_heads').select(['channel', 'set_name', 'version']).where('project', '=', PROJECT).execute()) {
    served.get(head.channel)![head.set_name] = head.version;
  }

  // Tokens: the receivers' (one per channel), and some for people and tools, two of them revoked.
  const tokens: { id: string; token: string }[] = [];
  for (let t = 0; t < TOKENS; t++) {
    tokens.push(await createAccessToken(ctx.db, { project: PROJECT, label: t < CHANNELS.length ? `web app ${CHANNELS[t]}` : `tool ${t}`, actor: 'admin' }));
  }
  for (const t of tokens.slice(-2)) await revokeAccessToken(ctx.db, PROJECT, t.id, { actor: 'admin', secrets: ctx.secrets });

  // Receivers: 60% production, 25% staging, 15% development; one in five serves every set of its
  // channel, the others pin 3–12 sets; most heartbeat now, some are stale.
  const random = prng(20261205);
  const setNames = all.map((p) => p.name);
  const counts: Record<string, number> = {};
  for (let r = 0; r < RECEIVERS; r++) {
    const c = r % 20 < 12 ? 0 : r % 20 < 17 ? 1 : 2;
    const channel = CHANNELS[c]!;
    const onChannel = served.get(channel)!;
    const sets = r % 5 === 0 ? Object.keys(onChannel) : Array.from({ length: 3 + Math.floor(random() * 10) }, () => setNames[Math.floor(random() * setNames.length)]!).filter((s) => onChannel[s]);
    const versions = Object.fromEntries([...new Set(sets)].sort().map((s) => [s, onChannel[s]!]));
    const ranges = r % 5 === 0 ? {} : Object.fromEntries(Object.entries(versions).map(([s, v]) => [s, `^${v.split('.')[0]}.0.0`]));
    const token = tokens[c]!;
    await recordReceiverCall(ctx, {
      project: PROJECT, kind: 'register', token: token.token, tokenId: token.id, actor: token.token.slice(0, 14),
      registration: { instanceId: `web-${channel}-${String(r).padStart(4, '0')}`, url: `https://app-${r % 40}.example.com/anvil/${r}`, channel, mode: r % 50 === 7 ? 'frozen' : 'accepting', ranges, versions },
      now: r % 25 === 3 ? Date.now() - 3_600_000 : Date.now(),
    });
    counts[channel] = (counts[channel] ?? 0) + 1;
  }
  // Each receiver's last delivery, as the push worker records it: the row's columns and one audit row.
  const receivers = await ctx.db.selectFrom('receivers').select(['instance_id', 'channel']).where('project', '=', PROJECT).execute();
  await ctx.db.transaction().execute(async (trx) => {
    const at = storeTime();
    const failed = receivers.filter((_, i) => i % 40 === 9).map((r) => r.instance_id);
    await trx.updateTable('receivers').set({ last_delivery_at: at, last_delivery_state: 'delivered', last_delivery_status: 200, last_delivery_code: 'applied', last_delivery_reason: null })
      .where('project', '=', PROJECT).execute();
    if (failed.length > 0) {
      await trx.updateTable('receivers').set({ last_delivery_state: 'failed', last_delivery_status: 422, last_delivery_code: 'envelope.integrity', last_delivery_reason: 'the bundle does not match its integrity' })
        .where('project', '=', PROJECT).where('instance_id', 'in', failed).execute();
    }
    await appendAuditEntries(trx, receivers.map((r, i) => ({
      project: PROJECT, kind: i % 40 === 9 ? 'delivery.failed' : 'delivery.delivered', subject: r.instance_id,
      detail: { delivery: `d-${i}`, channel: r.channel, attempts: 1, status: i % 40 === 9 ? 422 : 200, code: i % 40 === 9 ? 'envelope.integrity' : 'applied' },
    })));
  });
  progress(`dashboard: registered ${receivers.length} receivers`);

  const audit = await ctx.db.selectFrom('audit_log').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  const regular = all.find((p) => p.name === REGULAR_SET)!;
  const large = all.find((p) => p.name === LARGE_SET)!;
  return {
    sets: all.length, prompts, variants, bundles, bundleBytes,
    largeSet: { name: LARGE_SET, versions: large.versions, prompts: large.prompts + large.versions.length - 1, bytes: largeBytes.at(-1) ?? 0 },
    regularSet: { name: REGULAR_SET, versions: regular.versions, prompts: regular.prompts + regular.versions.length - 1 },
    rollouts: all.filter((p) => p.rollout !== undefined).length, receivers: counts, tokens: tokens.length,
    auditRows: Number(audit.n), seedMs: performance.now() - started,
  };
}
