import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { unifiedDiff, type PromptDiff } from '../../src/diff/rendered-diff.ts';
import type { PullRequestReview, SetReview } from '../../src/review/pull-request-review.ts';
import {
  DEFAULT_REVIEW_TEMPLATE_PATH, GITHUB_COMMENT_MAX, REVIEW_COMMENT_MARKER, REVIEW_TEMPLATE_OVERRIDE, composeReviewComment,
} from '../../src/review/compose-review-comment.ts';

const HEAD = 'a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2';
const BASE = 'f0e1d2c3b4a5f0e1d2c3b4a5f0e1d2c3b4a5f0e1';

function prompt(id: string, before: string, after: string, over: Partial<PromptDiff> = {}): PromptDiff {
  const name = over.variant !== undefined ? `${id} (${over.variant})` : id;
  return {
    id,
    status: 'changed',
    inputs: { name: 'Ada' },
    before,
    after,
    patch: unifiedDiff(`${name} @ main`, `${name} @ head`, before, after),
    ...over,
  };
}

function set(name: string, over: Partial<SetReview> = {}): SetReview {
  return {
    set: name, dir: `prompts/${name}`, mode: 'review', needsApproval: true, change: 'changed', impact: 'minor',
    latestRelease: '1.2.0', nextVersion: '1.3.0', contractChanges: [], problems: [], prompts: [], ...over,
  };
}

function review(sets: SetReview[]): PullRequestReview {
  return { project: 'acme', repository: 'acme/prompts', number: 12, headSha: HEAD, baseRef: 'main', baseSha: BASE, sets, repoProblems: [] };
}

/** Lines of `markdown` inside fenced code blocks, by CommonMark's fence rules. */
function linesInCodeBlocks(markdown: string): Set<number> {
  const inside = new Set<number>();
  let fence: string | undefined;
  markdown.split('\n').forEach((line, i) => {
    if (fence === undefined) {
      const open = /^ {0,3}(`{3,})[^`]*$/.exec(line)?.[1];
      if (open) fence = open;
      return;
    }
    const close = /^ {0,3}(`{3,})\s*$/.exec(line)?.[1];
    if (close && close.length >= fence.length) fence = undefined;
    else inside.add(i);
  });
  return inside;
}

function bigPatchPrompt(i: number, lines = 100): PromptDiff {
  const before = Array.from({ length: lines }, (_, n) => `line ${n} of prompt ${i}, as it was before this pull request`).join('\n');
  const after = Array.from({ length: lines }, (_, n) => `line ${n} of prompt ${i}, as it is after this pull request`).join('\n');
  return prompt(`prompt.${String(i).padStart(2, '0')}`, before, after);
}

describe('review: composeReviewComment', () => {
  it('starts with the marker, which the default template file carries too', () => {
    const { body } = composeReviewComment(review([]));
    expect(body.startsWith(`${REVIEW_COMMENT_MARKER}\n`)).to.equal(true);
    expect(readFileSync(DEFAULT_REVIEW_TEMPLATE_PATH, 'utf8').startsWith(`${REVIEW_COMMENT_MARKER}\n`)).to.equal(true);
    expect(body).to.contain('## Anvil: rendered changes');
    expect(body).to.contain('This pull request changes no prompt set.');
  });

  it('shows per set the mode, the release, the approval, and every changed prompt in a collapsible section', () => {
    const { body, truncated } = composeReviewComment(review([
      set('onboarding', {
        approval: { approvedBy: [], reviewers: ['alice', 'acme/prompt-owners'] },
        prompts: [
          prompt('welcome.message', 'Hello {{name}}\n', 'Hi Ada\n'),
          prompt('welcome.message', '', 'Bonjour Ada\n', { variant: 'fr', status: 'added', inputs: {} }),
        ],
      }),
      set('support', { mode: 'live', needsApproval: false, impact: 'patch', nextVersion: '1.2.1', approval: { approvedBy: ['bob'] } }),
    ]));
    expect(truncated).to.deep.equal({ prompts: 0, lines: 0 });
    expect(body).to.contain('### onboarding');
    expect(body).to.contain('**Mode:** review · **Release:** minor → 1.3.0 · **Approval:** needs approval (reviewers: `@alice`, `@acme/prompt-owners`)');
    expect(body).to.contain('**Mode:** live · **Release:** patch → 1.2.1 · **Approval:** no approval needed (live)');
    expect(body).to.contain('<summary><code>welcome.message</code> changed</summary>');
    expect(body).to.contain('<summary><code>welcome.message (fr)</code> added</summary>');
    expect(body).to.contain('```json\n{\n  "name": "Ada"\n}\n```');
    expect(body).to.contain('```diff\n--- welcome.message @ main\n+++ welcome.message @ head\n');
    expect(body).to.contain('-Hello {{name}}\n+Hi Ada\n```');
    expect(body.match(/<details>/g)).to.have.length(2);
    expect(body.match(/<\/details>/g)).to.have.length(2);
    expect(body).to.contain('No prompt renders differently.');
    expect(body).to.not.contain('Not everything fits');
  });

  it('keeps a diff that contains ``` inside its own code block', () => {
    const tricky = prompt('tools.answer', 'Reply as:\n```json\n{}\n```\n', 'Reply as:\n````\n{"a": 1}\n```\n</details>\n');
    const { body } = composeReviewComment(review([set('onboarding', { prompts: [tricky] })]));
    const lines = body.split('\n');
    const inside = linesInCodeBlocks(body);
    for (const patchLine of tricky.patch.split('\n')) {
      const at = lines.indexOf(patchLine);
      expect(at, patchLine).to.be.greaterThan(-1);
      expect(inside.has(at), `"${patchLine}" is inside a code block`).to.equal(true);
    }
    expect(lines.some((l) => /^`{5}diff$/.test(l)), 'a fence longer than the longest run (4)').to.equal(true);
    expect(inside.has(lines.lastIndexOf('</details>'))).to.equal(false);
  });

  it('escapes HTML in prompt titles shown in <summary>', () => {
    const { body } = composeReviewComment(review([set('onboarding', { prompts: [prompt('odd<b>', 'a\n', 'b\n')] })]));
    expect(body).to.contain('<summary><code>odd&lt;b&gt;</code> changed</summary>');
  });

  it('cuts a long patch to maxPatchLines and says how many lines were left out', () => {
    const long = bigPatchPrompt(1, 400);
    const patchLines = long.patch.split('\n').length;
    const { body, truncated } = composeReviewComment(review([set('onboarding', { prompts: [long] })]), { maxPatchLines: 50 });
    expect(truncated).to.deep.equal({ prompts: 0, lines: patchLines - 50 });
    expect(body).to.contain(`… ${patchLines - 50} more lines not shown\n`);
    expect(linesInCodeBlocks(body).has(body.split('\n').indexOf(`… ${patchLines - 50} more lines not shown`))).to.equal(true);
    expect(body).to.contain(`${patchLines - 50} diff lines of 1 prompt are not shown.`);
    expect(body).to.contain('anvil diff onboarding f0e1d2c a1b2c3d');
  });

  it('leaves out the prompts past the budget, and says how many per set', () => {
    const prompts = Array.from({ length: 40 }, (_, i) => bigPatchPrompt(i));
    const { body, truncated } = composeReviewComment(review([set('onboarding', { prompts }), set('support', { prompts: [bigPatchPrompt(99)] })]), { maxChars: 60_000 });
    expect(body.length).to.be.at.most(60_000);
    expect(truncated.prompts).to.be.greaterThan(0);
    expect(truncated.prompts).to.be.lessThan(41);
    const shown = (body.match(/<details>/g) ?? []).length;
    expect(shown + truncated.prompts).to.equal(41);
    expect(body).to.contain(`… ${truncated.prompts - 1} more changed prompts not shown`);
    expect(body).to.contain('… 1 more changed prompt not shown');
    expect(body).to.contain(`${truncated.prompts} of 41 changed prompts are not shown.`);
    expect(body).to.contain('anvil diff onboarding f0e1d2c a1b2c3d\nanvil diff support f0e1d2c a1b2c3d');
    // What is shown is the first prompts, in order.
    expect(body).to.contain('prompt.00');
    expect(body).to.not.contain(`prompt.${String(shown).padStart(2, '0')}`);
  });

  it('cuts a body still over maxChars at a line, closing open blocks, with a note', () => {
    const template = `{{#each sets}}{{#each prompts}}\n<details>\n\n{{fence}}diff\n{{patch}}\n{{patch}}\n{{patch}}\n{{fence}}\n</details>\n{{/each}}{{/each}}`;
    const prompts = Array.from({ length: 10 }, (_, i) => bigPatchPrompt(i, 60));
    const { body } = composeReviewComment(review([set('onboarding', { prompts })]), { template, maxChars: 20_000 });
    expect(body.length).to.be.at.most(20_000);
    expect(body.startsWith(REVIEW_COMMENT_MARKER)).to.equal(true);
    expect(body).to.match(/\n```\n\n<\/details>\n\n\*\*This comment was cut here: it would be longer than 20000 characters\.\*\* Run `npx anvil diff <set> f0e1d2c a1b2c3d` to see every change\.$/);
  });

  it('never produces a body over GitHub\'s limit, whatever maxChars says', () => {
    const template = `{{#each sets}}{{#each prompts}}{{patch}}{{patch}}{{patch}}{{patch}}{{/each}}{{/each}}`;
    const prompts = Array.from({ length: 40 }, (_, i) => bigPatchPrompt(i));
    const { body } = composeReviewComment(review([set('onboarding', { prompts })]), { template, maxChars: 1_000_000 });
    expect(body.length).to.be.at.most(GITHUB_COMMENT_MAX);
    expect(body).to.contain('This comment was cut here');
  });

  describe('a repository template', () => {
    it('is used, and gets the marker when it leaves it out', () => {
      const template = '# {{repository}}#{{number}}\n{{#each sets}}- {{name}}: {{release}}, {{promptCount}} prompts{{#each prompts}} {{title}}={{status}}{{/each}}\n{{/each}}';
      const { body, templateError } = composeReviewComment(review([set('onboarding', { prompts: [prompt('welcome', 'a\n', 'b\n')] })]), { template });
      expect(templateError).to.equal(undefined);
      expect(body).to.equal(`${REVIEW_COMMENT_MARKER}\n# acme/prompts#12\n- onboarding: minor → 1.3.0, 1 prompts welcome=changed\n`);
    });

    it('keeps its own marker where it put it', () => {
      const { body } = composeReviewComment(review([]), { template: `Hello\n{{marker}}\n` });
      expect(body).to.equal(`Hello\n${REVIEW_COMMENT_MARKER}\n`);
    });

    it('that does not compile falls back to the default, saying why in one line', () => {
      const template = 'ok\n{{#each sets}}\n{{name}\n';
      const { body, templateError } = composeReviewComment(review([set('onboarding')]), { template });
      expect(body.startsWith(`${REVIEW_COMMENT_MARKER}\n`)).to.equal(true);
      expect(body).to.contain('## Anvil: rendered changes');
      expect(body).to.contain('### onboarding');
      expect(templateError).to.match(/^line 3: parse error: /);
      const note = body.split('\n')[1]!;
      expect(note).to.contain(`The repository's template \`${REVIEW_TEMPLATE_OVERRIDE}\` failed, so the default one was used:** line 3: parse error: `);
    });

    it('that fails while rendering falls back too', () => {
      for (const template of ['{{> signature}}', '{{shout name}}', '{{log "hello"}}']) {
        const { body, templateError } = composeReviewComment(review([set('onboarding')]), { template });
        expect(templateError, template).to.be.a('string');
        expect(body).to.contain('## Anvil: rendered changes');
        expect(body).to.contain('failed, so the default one was used');
      }
    });

    it('cannot reach constructors or prototypes', () => {
      const template = [
        '[{{constructor.name}}]',
        '[{{lookup this "constructor"}}]',
        '[{{sets.constructor.name}}]',
        '[{{#each sets}}{{name.constructor.name}}{{constructor.constructor}}{{/each}}]',
        '[{{__proto__}}]',
        '[{{toString}}]',
        '[{{#with "x"}}{{constructor.name}}{{/with}}]',
      ].join('\n');
      const { body, templateError } = composeReviewComment(review([set('onboarding')]), { template });
      expect(templateError).to.equal(undefined);
      expect(body).to.equal(`${REVIEW_COMMENT_MARKER}\n[]\n[]\n[]\n[]\n[]\n[]\n[]`);
    });
  });
});
