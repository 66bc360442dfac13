import { expect } from 'chai';
import { decidePublish, type PolicyEvent } from '../../src/policy/decide-publish.ts';

type Mode = 'live' | 'review' | 'locked';
const push = (reviewedMerge: boolean): PolicyEvent => ({ kind: 'push', reviewedMerge });
const release = (prerelease: boolean, unreviewedChange = false): PolicyEvent => ({ kind: 'release', prerelease, unreviewedChange });

/** DESIGN.md §6, row by row: [event, mode, published stage, channels, audit kind, fails status]. */
const TABLE: [string, PolicyEvent, Mode, 'head' | 'release' | null, string[], string, boolean][] = [
  ['push, not a reviewed merge', push(false), 'live', 'head', ['development'], 'decision.publish', false],
  ['push, not a reviewed merge', push(false), 'review', null, [], 'decision.unreviewed-change', true],
  ['push, not a reviewed merge', push(false), 'locked', null, [], 'decision.unreviewed-change', true],
  ['pull request opened / updated', { kind: 'pull-request' }, 'live', null, [], 'decision.nothing', false],
  ['pull request opened / updated', { kind: 'pull-request' }, 'review', null, [], 'decision.nothing', false],
  ['pull request opened / updated', { kind: 'pull-request' }, 'locked', null, [], 'decision.nothing', false],
  ['PR approved and merged', push(true), 'live', 'head', ['development'], 'decision.publish', false],
  ['PR approved and merged', push(true), 'review', 'head', ['staging', 'development'], 'decision.publish', false],
  ['PR approved and merged', push(true), 'locked', null, [], 'decision.nothing', false],
  ['release tag, stable', release(false), 'live', 'release', ['staging', 'development'], 'decision.publish', false],
  ['release tag, stable', release(false), 'review', 'release', ['staging', 'development'], 'decision.publish', false],
  ['release tag, stable', release(false), 'locked', 'release', ['production', 'staging', 'development'], 'decision.publish', false],
  ['release tag, prerelease', release(true), 'live', 'release', ['staging', 'development'], 'decision.publish', false],
  ['release tag, prerelease', release(true), 'review', 'release', ['staging', 'development'], 'decision.publish', false],
  ['release tag, prerelease', release(true), 'locked', 'release', ['staging', 'development'], 'decision.publish', false],
  // §6 below the table: releases of review/locked sets must carry only reviewed changes.
  ['release tag with an unreviewed change', release(false, true), 'live', 'release', ['staging', 'development'], 'decision.publish', false],
  ['release tag with an unreviewed change', release(false, true), 'review', null, [], 'decision.unreviewed-release', true],
  ['release tag with an unreviewed change', release(false, true), 'locked', null, [], 'decision.unreviewed-release', true],
  ['prerelease tag with an unreviewed change', release(true, true), 'locked', null, [], 'decision.unreviewed-release', true],
];

describe('policy: decidePublish (DESIGN.md §6)', () => {
  for (const [name, event, mode, stage, channels, audit, fails] of TABLE) {
    it(`${name} × ${mode} → ${stage ? `${stage} build to ${channels.join(', ')}` : 'nothing published'}`, () => {
      const decision = decidePublish({ event, mode, lintErrors: false });
      if (stage === null) expect(decision.publish).to.equal(undefined);
      else expect(decision.publish).to.deep.equal({ stage, channels });
      expect(decision.audit).to.equal(audit);
      expect(decision.failStatus !== undefined).to.equal(fails);
      expect(decision.reason).to.be.a('string').and.not.equal('');
    });
  }

  it('only releases of locked sets ever reach production', () => {
    const events: PolicyEvent[] = [push(false), push(true), { kind: 'pull-request' }, release(false), release(true), release(false, true), release(true, true)];
    for (const mode of ['live', 'review', 'locked'] as const) {
      for (const event of events) {
        const channels = decidePublish({ event, mode, lintErrors: false }).publish?.channels ?? [];
        const expected = mode === 'locked' && event.kind === 'release' && !event.prerelease && !event.unreviewedChange;
        expect(channels.includes('production'), `${mode} ${JSON.stringify(event)}`).to.equal(expected);
      }
    }
  });

  it('a pull request gets a check that needs approval for review and locked sets only', () => {
    expect(decidePublish({ event: { kind: 'pull-request' }, mode: 'live', lintErrors: false }).check).to.deep.equal({ needsApproval: false });
    expect(decidePublish({ event: { kind: 'pull-request' }, mode: 'review', lintErrors: false }).check).to.deep.equal({ needsApproval: true });
    expect(decidePublish({ event: { kind: 'pull-request' }, mode: 'locked', lintErrors: false }).check).to.deep.equal({ needsApproval: true });
  });

  it('lint errors publish nothing, whatever the event and mode, and say why', () => {
    for (const mode of ['live', 'review', 'locked'] as const) {
      for (const event of [push(false), push(true), release(false), release(true)]) {
        const decision = decidePublish({ event, mode, lintErrors: true });
        expect(decision.publish).to.equal(undefined);
        expect(decision.audit).to.equal('decision.lint-failed');
        expect(decision.failStatus).to.match(/lint/);
      }
    }
  });
});
