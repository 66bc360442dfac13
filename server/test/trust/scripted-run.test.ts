/**
 * The trust chain as a property (issue 18): a seeded, scripted run of everything people with
 * push rights, reviewers and admins do to a repository — reviewed pull requests, direct pushes,
 * evil merges, reverts, releases (stable, prerelease, lightweight, on a side branch), rollout
 * edits reviewed or not, publishing again — against a real forge with GitHub review and a real
 * production receiver in a process of its own. Whatever the script, every state the production
 * receiver applied serves only stable, reviewed releases of the locked set, from annotated tags
 * on main, never moving backwards; and a reviewed way forward always exists (the run ends with
 * one).
 *
 * The model below knows what was reviewed: a set's content is trusted when the forge adopted it
 * (the first sync), when a reviewed pull request merged cleanly onto trusted content made it, or
 * when it equals content trusted before (a reviewed revert). `ANVIL_PROPERTY_SEED=<seed>` replays
 * a run; `ANVIL_PROPERTY_STEPS` sets its length.
 */
import { randomInt } from 'node:crypto';
import { expect } from 'chai';
import semver from 'semver';
import { republishRelease } from '../../src/publish/republish.ts';
import { listAudit, verifyAuditChain } from '../../src/store/audit-log.ts';
import { cleanupGitdirs } from '../support/gitdir.ts';
import { PROJECT, startGitHubForge, type GitHubForge, type ReceiverProcess } from '../support/github-forge.ts';
import type { ReceiverReport } from '../support/receiver-process.ts';
import { Random } from '../support/seeded-random.ts';

const REFUND = 'prompts/policy/refund.md';
const INITIAL = 'Refunds within 30 days.';
const FILES = {
  'anvil.yaml': 'name: "@acme"\n',
  'prompts/policy/set.yaml': 'mode: locked\n',
  [REFUND]: INITIAL,
  'prompts/onboarding/set.yaml': 'mode: review\n',
  'prompts/onboarding/welcome.md': 'Welcome!',
  'prompts/support/set.yaml': 'mode: live\n',
  'prompts/support/answer.md': 'Answer briefly.',
};

interface TaggedVersion {
  content: string;
  /** An annotated tag on a commit of main: what DESIGN §5 calls a release. */
  release: boolean;
}

interface Applied extends Omit<ReceiverReport, 'kind'> {
  /** The step after which the receiver reported this state. */
  step: string;
}

describe('the trust chain over a scripted run (property)', function () {
  this.timeout(300_000);
  const seed = Number(process.env['ANVIL_PROPERTY_SEED'] ?? randomInt(2 ** 31));
  const steps = Number(process.env['ANVIL_PROPERTY_STEPS'] ?? 20);
  let f: GitHubForge;
  let production: ReceiverProcess;
  const applied: Applied[] = [];
  let heard = 0;

  /** Every state the production receiver reported since the last call, labelled with `step`. */
  async function collect(step: string): Promise<ReceiverReport> {
    const latest = await production.latest();
    for (; heard < production.reports.length; heard++) {
      const { sets, text } = production.reports[heard]!;
      const last = applied.at(-1);
      if (Object.keys(sets).length === 0 || (last && JSON.stringify([last.sets, last.text]) === JSON.stringify([sets, text]))) continue;
      applied.push({ step, sets, text });
    }
    return latest;
  }

  before(async () => {
    f = await startGitHubForge(FILES, { tags: ['policy@1.0.0'] });
    // The production receiver runs in a process of its own, as an app's does.
    production = await f.receiverProcess('prod-1', 'production', 'refund');
    await f.receiver('staging-1', 'staging');
    await f.sync();
    await collect('the forge adopts the repository');
  });

  after(async () => {
    await f?.close();
    await cleanupGitdirs();
  });

  it('production only ever serves stable, reviewed releases of locked sets, never moving backwards, and a reviewed way forward remains', async function () {
    this.test!.title += ` (seed ${seed}, ${steps} steps)`;
    console.log(`      property seed ${seed} (replay: ANVIL_PROPERTY_SEED=${seed})`);
    const r = new Random(seed);
    const trusted = new Set([INITIAL]);
    const tags = new Map<string, TaggedVersion>([['1.0.0', { content: INITIAL, release: true }]]);
    let main = INITIAL;
    let pull = 0;
    let patch = 1;
    let rc = 0;
    let days = 31;
    const newContent = () => `Refunds within ${days++} days.`;
    const log: string[] = [];

    /** A reviewed pull request merged cleanly: its content is trusted when what it merged onto was. */
    const reviewedChange = async (files: Record<string, string>, extra?: Record<string, string>) => {
      const number = ++pull;
      await f.mergedPull(number, files, { extra });
      return number;
    };

    for (let i = 0; i < steps; i++) {
      let step: string;
      const roll = r.next();
      if (roll < 0.18) {
        const content = newContent();
        step = `reviewed pull request: "${content}"`;
        if (trusted.has(main)) trusted.add(content);
        await reviewedChange({ [REFUND]: content });
        main = content;
      } else if (roll < 0.3) {
        const content = newContent();
        step = `unreviewed push to main: "${content}"`;
        await f.pushCommit('direct change', { [REFUND]: content });
        main = content;
      } else if (roll < 0.38) {
        const approved = newContent();
        const merged = newContent();
        step = `evil merge: approved "${approved}", merged "${merged}"`;
        await reviewedChange({ [REFUND]: approved }, { [REFUND]: merged });
        main = merged;
      } else if (roll < 0.47) {
        const back = r.pick([...trusted]);
        step = `reviewed revert to "${back}"`;
        if (back !== main) {
          await reviewedChange({ [REFUND]: back });
          main = back;
        }
      } else if (roll < 0.65) {
        const version = `1.0.${patch++}`;
        step = `release ${version} (annotated, on main)`;
        tags.set(version, { content: main, release: true });
        await f.release(`policy@${version}`);
      } else if (roll < 0.7) {
        const version = `1.0.${patch}-rc.${++rc}`;
        step = `prerelease ${version}`;
        tags.set(version, { content: main, release: true });
        await f.release(`policy@${version}`);
      } else if (roll < 0.75) {
        const version = `1.0.${patch++}`;
        step = `lightweight tag ${version}`;
        tags.set(version, { content: main, release: false });
        await f.release(`policy@${version}`, { lightweight: true });
      } else if (roll < 0.8) {
        const version = `1.0.${patch++}`;
        const content = newContent();
        step = `annotated tag ${version} on a side branch: "${content}"`;
        await f.repo.git('checkout', '--quiet', '-b', `side-${version}`);
        await f.repo.commit('side change', { [REFUND]: content });
        tags.set(version, { content, release: false });
        await f.release(`policy@${version}`);
        await f.repo.checkout('main');
      } else if (roll < 0.9) {
        const version = r.pick([...tags.keys()]);
        const reviewed = r.chance(0.5);
        step = `${reviewed ? 'reviewed' : 'unreviewed'} rollout of policy ${version} to production at 100%`;
        const yaml = { 'anvil.yaml': `name: "@acme"\nrollouts:\n  policy:\n    production:\n      version: ${version}\n      percent: 100\n` };
        if (reviewed) await reviewedChange(yaml);
        else await f.pushCommit('rollout', yaml);
      } else if (roll < 0.95) {
        step = 'changes to the review and live sets';
        await f.pushCommit('live change', { 'prompts/support/answer.md': `Answer briefly (${i}).` });
        await reviewedChange({ 'prompts/onboarding/welcome.md': `Welcome (${i})!` });
      } else {
        const version = r.pick([...tags.keys()]);
        step = `admin publishes policy ${version} again`;
        await republishRelease(f.forge.ctx, PROJECT, 'policy', version, 'admin').catch(() => undefined);
      }
      log.push(step);
      await f.settle();
      await collect(step);
    }

    // A reviewed way forward: back to reviewed content, then a release of it reaches production.
    if (!trusted.has(main)) {
      const step = 'reviewed revert to the last reviewed content';
      const back = [...trusted].at(-1)!;
      await reviewedChange({ [REFUND]: back });
      main = back;
      log.push(step);
    }
    const last = `1.0.${patch++}`;
    log.push(`release ${last} of reviewed content`);
    tags.set(last, { content: main, release: true });
    await f.release(`policy@${last}`);
    await f.settle();
    const final = await collect(`release ${last} of reviewed content`);

    const context = `seed ${seed}; steps:\n  ${log.join('\n  ')}\napplied:\n  ${applied.map((a) => `${a.step}: ${JSON.stringify(a.sets)}`).join('\n  ')}`;

    expect(applied[0]?.sets['policy']?.version, `the adopted release first\n${context}`).to.equal('1.0.0');
    let highest = '0.0.0';
    for (const state of applied) {
      expect(Object.keys(state.sets), `only the locked set reaches production\n${context}`).to.deep.equal(['policy']);
      const { version, stage, rollout } = state.sets['policy']!;
      for (const [v, s] of [[version, stage], ...(rollout ? [[rollout.version, rollout.stage]] : [])] as [string, string][]) {
        const tagged = tags.get(v);
        const where = `${v} after "${state.step}"\n${context}`;
        expect(s, `a release, not a head build: ${where}`).to.equal('release');
        expect(tagged, `a version that was tagged: ${where}`).to.not.equal(undefined);
        expect(semver.prerelease(v), `stable: ${where}`).to.equal(null);
        expect(tagged!.release, `an annotated tag on main: ${where}`).to.equal(true);
        expect(trusted.has(tagged!.content), `reviewed content: ${where}`).to.equal(true);
      }
      if (rollout) expect(semver.gt(rollout.version, version), `a rollout moves forward: ${rollout.version} over ${version}\n${context}`).to.equal(true);
      expect(semver.gte(version, highest), `never backwards: ${version} after ${highest}\n${context}`).to.equal(true);
      highest = version;
      expect(trusted.has(state.text ?? ''), `serves reviewed text "${state.text}"\n${context}`).to.equal(true);
    }

    // Checked after the safety of every state: a hole shows as what it let through.
    expect(final.sets['policy']?.version, `the reviewed release reaches production\n${context}`).to.equal(last);
    const audit = await listAudit(f.forge.ctx.db, { project: PROJECT });
    expect(audit.length).to.be.greaterThan(0);
    expect((await verifyAuditChain(f.forge.ctx.db)).ok, 'the audit chain verifies').to.equal(true);
  });
});
