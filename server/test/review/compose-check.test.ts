import { expect } from 'chai';
import type { Problem } from '../../src/lint/problem.ts';
import type { PullRequestReview, SetReview } from '../../src/review/pull-request-review.ts';
import {
  ANNOTATIONS_PER_REQUEST, MAX_ANNOTATIONS, annotationBatches, composeCheckRun, composeCommitStatus, composeUnreviewedStatus, cutMarkdown,
  type CheckAnnotation,
} from '../../src/review/compose-check.ts';

function set(name: string, over: Partial<SetReview> = {}): SetReview {
  return {
    set: name,
    dir: `prompts/${name}`,
    mode: 'review',
    needsApproval: true,
    change: 'changed',
    impact: 'patch',
    latestRelease: '1.2.0',
    nextVersion: '1.2.1',
    contractChanges: [],
    problems: [],
    prompts: [],
    ...over,
  };
}

function review(sets: SetReview[], repoProblems: Problem[] = []): PullRequestReview {
  return { project: 'acme', repository: 'acme/prompts', number: 12, headSha: 'a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2', baseRef: 'main', baseSha: 'f0e1d2c3b4a5f0e1d2c3b4a5f0e1d2c3b4a5f0e1', sets, repoProblems };
}

const error = (over: Partial<Problem> = {}): Problem => ({ severity: 'error', code: 'template.unknown-helper', message: 'unknown helper shout', file: 'prompts/onboarding/welcome.md', line: 4, column: 7, ...over });
const warning = (over: Partial<Problem> = {}): Problem => ({ severity: 'warning', code: 'lint.unused-input', message: 'input tone is never used', file: 'prompts/onboarding/welcome.md', line: 2, ...over });

describe('review: composeCheckRun', () => {
  describe('conclusion', () => {
    const cases: [string, PullRequestReview, 'success' | 'failure'][] = [
      ['no sets changed', review([]), 'success'],
      ['a clean set that needs approval', review([set('onboarding', { impact: 'minor', nextVersion: '1.3.0' })]), 'success'],
      ['warnings only', review([set('onboarding', { problems: [warning()] })], [warning({ file: 'anvil.yaml' })]), 'success'],
      ['a lint error in a set', review([set('onboarding', { problems: [error()] })]), 'failure'],
      ['a lint error outside the sets', review([set('onboarding')], [error({ file: 'anvil.yaml' })]), 'failure'],
      ['a set that does not build', review([set('onboarding', { buildError: 'partial signature not found' })]), 'failure'],
    ];
    for (const [name, r, conclusion] of cases) {
      it(`${name} → ${conclusion}`, () => {
        const check = composeCheckRun(r);
        expect(check.name).to.equal('Anvil');
        expect(check.conclusion).to.equal(conclusion);
        expect(composeCommitStatus(r).state).to.equal(conclusion);
      });
    }

    it('needing approval does not fail the check, it is said in the title', () => {
      const check = composeCheckRun(review([
        set('onboarding', { impact: 'minor', nextVersion: '1.3.0' }),
        set('support', { mode: 'live', needsApproval: false }),
      ]));
      expect(check.conclusion).to.equal('success');
      expect(check.title).to.equal('onboarding: minor, needs approval · support: patch');
    });

    it('an approved set says so', () => {
      const check = composeCheckRun(review([set('onboarding', { approval: { approvedBy: ['alice'] } })]));
      expect(check.title).to.equal('onboarding: patch, approved');
      expect(check.summary).to.contain('approved by @alice');
    });

    it('a failing title counts the lint errors per set', () => {
      const check = composeCheckRun(review([set('onboarding', { problems: [error(), error({ line: 9 }), warning()] }), set('support')]));
      expect(check.title).to.equal('2 lint errors in onboarding');
    });
  });

  it('keeps the title within 100 characters, naming how many sets were left out', () => {
    const sets = Array.from({ length: 12 }, (_, i) => set(`set-${i}`, { impact: 'minor' }));
    const { title } = composeCheckRun(review(sets));
    expect(title.length).to.be.at.most(100);
    expect(title).to.match(/^set-0: minor, needs approval( · [^·]+)* · and \d+ more$/);
  });

  describe('summary', () => {
    it('has a row per set with mode, change, release, approval and lint counts', () => {
      const support = set('support', { mode: 'live', needsApproval: false, change: 'added', impact: 'minor', nextVersion: '0.1.0' });
      delete support.latestRelease;
      const { summary } = composeCheckRun(review([
        set('onboarding', {
          impact: 'minor', nextVersion: '1.3.0', problems: [error(), warning(), warning({ line: 8 })],
          approval: { approvedBy: [], reviewers: ['alice', 'acme/prompt-owners'] },
        }),
        support,
      ]));
      expect(summary).to.contain('| `onboarding` | review | changed | minor → 1.3.0 | needs approval (reviewers: @alice, @acme/prompt-owners) | 1 error, 2 warnings |');
      expect(summary).to.contain('| `support` | live | added | first release → 0.1.0 | no approval needed (live) | clean |');
    });

    it('lists the contract changes under each set', () => {
      const { summary } = composeCheckRun(review([set('onboarding', {
        impact: 'major',
        contractChanges: [
          { impact: 'major', code: 'input.required-added', subject: 'welcome.message', message: 'requires a new input name' },
          { impact: 'patch', code: 'set.mode', subject: 'set', message: 'mode changed from live to review' },
        ],
      })]));
      expect(summary).to.contain('### onboarding');
      expect(summary).to.contain('- **major** `welcome.message`: requires a new input name');
      expect(summary).to.contain('- **patch** mode changed from live to review');
    });

    it('shows a build error and links the details', () => {
      const { summary } = composeCheckRun(review([set('onboarding', { buildError: 'partial\nsignature not found' })]), { detailsUrl: 'https://forge.example/pr/12' });
      expect(summary).to.contain('**Does not build:** partial signature not found');
      expect(summary).to.contain('[Details](https://forge.example/pr/12)');
    });

    it('escapes pipes in table cells', () => {
      const { summary } = composeCheckRun(review([set('onboarding', { approval: { approvedBy: ['a|b'] } })]));
      expect(summary).to.contain('approved by @a\\|b');
    });
  });

  describe('annotations', () => {
    it('maps errors to failure and warnings to warning, with the code as title and the hint in the message', () => {
      const check = composeCheckRun(review([set('onboarding', { problems: [error({ hint: 'register it or remove the call' }), warning()] })]));
      expect(check.annotations).to.deep.equal([
        {
          path: 'prompts/onboarding/welcome.md', start_line: 4, end_line: 4, start_column: 7, end_column: 7,
          annotation_level: 'failure', message: 'unknown helper shout\nhint: register it or remove the call', title: 'template.unknown-helper',
        },
        { path: 'prompts/onboarding/welcome.md', start_line: 2, end_line: 2, annotation_level: 'warning', message: 'input tone is never used', title: 'lint.unused-input' },
      ]);
    });

    it('gives columns only when one is known, and always on a single line', () => {
      const { annotations } = composeCheckRun(review([set('onboarding', { problems: [error({ column: undefined }), error({ line: 10, column: 3 })] })]));
      for (const a of annotations) {
        expect(a.start_line).to.equal(a.end_line);
        if (a.start_column !== undefined) expect(a.end_column).to.equal(a.start_column);
      }
      expect(annotations[0]).to.not.have.property('start_column');
      expect(annotations[0]).to.not.have.property('end_column');
      expect(annotations[1]).to.include({ start_column: 3, end_column: 3 });
    });

    it('puts problems without a file or line into the summary instead', () => {
      const check = composeCheckRun(review(
        [set('onboarding', { problems: [error({ line: undefined, column: undefined, file: 'prompts/onboarding/set.yaml', code: 'set.invalid', message: 'mode must be live, review or locked', hint: 'fix it' })] })],
        [warning({ file: undefined, line: undefined, code: 'repo.empty', message: 'no sets found' })],
      ));
      expect(check.annotations).to.deep.equal([]);
      expect(check.conclusion).to.equal('failure');
      expect(check.summary).to.contain('- **error** `set.invalid` prompts/onboarding/set.yaml: mode must be live, review or locked (hint: fix it)');
      expect(check.summary).to.contain('### Outside the sets');
      expect(check.summary).to.contain('- **warning** `repo.empty` no sets found');
    });

    it(`caps them at ${MAX_ANNOTATIONS}, errors first, and lists the rest`, () => {
      const problems = [
        ...Array.from({ length: MAX_ANNOTATIONS }, (_, i) => warning({ line: i + 1 })),
        ...Array.from({ length: 5 }, (_, i) => error({ line: i + 1 })),
      ];
      const check = composeCheckRun(review([set('onboarding', { problems })]));
      expect(check.annotations).to.have.length(MAX_ANNOTATIONS);
      expect(check.annotations.slice(0, 5).every((a) => a.annotation_level === 'failure')).to.equal(true);
      expect(check.summary).to.contain('5 problems not annotated');
      expect(check.text).to.contain('prompts/onboarding/welcome.md:996  warning lint.unused-input');
    });
  });

  it(`splits annotations into batches of ${ANNOTATIONS_PER_REQUEST}`, () => {
    const annotations: CheckAnnotation[] = Array.from({ length: 120 }, (_, i) => ({ path: 'a.md', start_line: i + 1, end_line: i + 1, annotation_level: 'warning', message: 'm' }));
    const batches = annotationBatches(annotations);
    expect(batches.map((b) => b.length)).to.deep.equal([50, 50, 20]);
    expect(batches.flat()).to.deep.equal(annotations);
    expect(annotationBatches([])).to.deep.equal([]);
  });

  it('keeps the summary within GitHub\'s 65,535 characters', () => {
    const contractChanges = Array.from({ length: 3000 }, (_, i) => ({ impact: 'patch' as const, code: 'prompt.body', subject: `prompt.number.${i}`, message: 'the body changed, and this message is long enough to add up' }));
    const { summary } = composeCheckRun(review([set('onboarding', { contractChanges })]));
    expect(summary.length).to.be.at.most(65_535);
    expect(summary).to.match(/The summary was cut here/);
  });
});

describe('review: composeCommitStatus', () => {
  it('says in at most 140 characters what the check run title says', () => {
    const r = review([set('onboarding', { impact: 'minor', nextVersion: '1.3.0' })]);
    expect(composeCommitStatus(r)).to.deep.equal({ state: 'success', description: 'onboarding: minor, needs approval', context: 'anvil' });
  });

  it('shortens many sets, and cuts one overlong name with …', () => {
    const many = composeCommitStatus(review(Array.from({ length: 30 }, (_, i) => set(`set-${i}`))));
    expect(many.description.length).to.be.at.most(140);
    expect(many.description).to.match(/and \d+ more$/);
    const long = composeCommitStatus(review([set('x'.repeat(300))]));
    expect(long.description.length).to.be.at.most(140);
    expect(long.description.endsWith('…')).to.equal(true);
  });

  it('fails with the lint errors', () => {
    expect(composeCommitStatus(review([set('onboarding', { problems: [error()] })]))).to.deep.equal({ state: 'failure', description: '1 lint error in onboarding', context: 'anvil' });
  });
});

describe('review: composeUnreviewedStatus', () => {
  it('names the sets of an unreviewed push', () => {
    expect(composeUnreviewedStatus('push', ['onboarding', 'support'], 'a1b2c3d')).to.deep.equal({
      state: 'failure', description: 'unreviewed change to onboarding, support: nothing published', context: 'anvil/review',
    });
  });

  it('names a refused release', () => {
    expect(composeUnreviewedStatus('release', ['onboarding'], 'onboarding@1.3.0').description).to.equal('onboarding@1.3.0 carries an unreviewed change: refused');
  });

  it('stays within 140 characters', () => {
    const push = composeUnreviewedStatus('push', Array.from({ length: 40 }, (_, i) => `set-number-${i}`), 'a1b2c3d');
    expect(push.description.length).to.be.at.most(140);
    expect(push.description).to.match(/and \d+ more: nothing published$/);
    const release = composeUnreviewedStatus('release', ['x'], `${'x'.repeat(200)}@1.0.0`);
    expect(release.description.length).to.be.at.most(140);
    expect(release.description.endsWith('…')).to.equal(true);
  });
});

describe('review: cutMarkdown', () => {
  it('closes a code fence and <details> left open by the cut, so the note shows', () => {
    const text = ['intro', '<details>', '<summary>x</summary>', '', '````diff', ...Array.from({ length: 100 }, (_, i) => `+line ${i}`), '````', '</details>'].join('\n');
    const cut = cutMarkdown(text, 300, 'NOTE');
    expect(cut.length).to.be.at.most(300);
    expect(cut).to.match(/\n````\n\n<\/details>\n\nNOTE$/);
  });

  it('returns short text as it is', () => {
    expect(cutMarkdown('short', 100, 'NOTE')).to.equal('short');
  });
});
