/**
 * The Rollouts page's pure parts (issue 15): rows per set and channel with the canary and the
 * receivers by version, the page escaped, and the receivers page's `set@version` filter.
 */
import { expect } from 'chai';
import { paging } from '../../src/dashboard/dashboard-data.ts';
import type { PageFrame } from '../../src/dashboard/dashboard-layout.ts';
import { parseServesFilter } from '../../src/dashboard/receivers-filter.ts';
import { rolloutsPage } from '../../src/dashboard/rollouts-page.ts';
import { groupRollouts } from '../../src/dashboard/rollouts-view.ts';

const PAYLOAD = '<script>window.__xss=1</script>';
const frame: PageFrame = { forgeName: 'forge', user: { role: 'viewer', project: 'acme', actor: 'token:anvil_x' }, csrf: 'c'.repeat(43) };
const receiver = (id: string, channel: string, versions: Record<string, string>) => ({ project: 'acme', instance_id: id, channel, versions: JSON.stringify(versions) });

describe('rollouts view', () => {
  it('one row per set and channel, rollouts first, receivers grouped by the version they serve, newest first', () => {
    const rows = groupRollouts({
      heads: [
        { project: 'acme', set_name: 'core', channel: 'production', version: '1.0.0' },
        { project: 'acme', set_name: 'core', channel: 'staging', version: '1.1.0' },
        { project: 'acme', set_name: 'policy', channel: 'production', version: '2.0.0' },
      ],
      rollouts: [{ project: 'acme', set_name: 'policy', channel: 'production', version: '2.1.0', percent: 10 }],
      receivers: [
        receiver('p1', 'production', { core: '1.0.0', policy: '2.0.0' }), receiver('p2', 'production', { core: '0.9.0', policy: '2.0.0' }),
        receiver('p3', 'production', { core: '1.0.0' }), receiver('s1', 'staging', { core: '1.1.0' }), receiver('bad', 'production', '{' as never),
      ],
    });
    expect(rows.map((r) => [r.set, r.channel, r.head, r.rollout?.percent])).to.deep.equal([
      ['policy', 'production', '2.0.0', 10], ['core', 'production', '1.0.0', undefined], ['core', 'staging', '1.1.0', undefined],
    ]);
    expect(rows[1]!.served).to.deep.equal([{ version: '1.0.0', receivers: 2, sample: ['p1', 'p3'] }, { version: '0.9.0', receivers: 1, sample: ['p2'] }]);
    expect(rows[0]!.without).to.equal(2);
  });

  it('the page shows the percent and links each version to the filtered receivers, escaped', () => {
    const rows = groupRollouts({
      heads: [{ project: 'acme', set_name: PAYLOAD, channel: 'production', version: '1.0.0' }],
      rollouts: [{ project: 'acme', set_name: PAYLOAD, channel: 'production', version: '1.1.0', percent: 25 }],
      receivers: [receiver(PAYLOAD, 'production', { [PAYLOAD]: '1.0.0' })],
    });
    const page = rolloutsPage(frame, { rows, paging: paging(1, '1', 50), showProject: false }).toString();
    expect(page).not.to.include(PAYLOAD);
    expect(page).to.include('to <strong>25%</strong> of keys').and.include('class="fill pct-25"');
    expect(page).to.include(`href="/ui/receivers?channel=production&amp;serves=${encodeURIComponent(`${PAYLOAD}@1.0.0`).replace(/%20/g, '+')}"`);
    expect(page).to.include('aria-current="page"');
  });

  it('the receivers filter takes set@version and says what is wrong otherwise', () => {
    expect(parseServesFilter(' core@1.2.0 ')).to.deep.equal({ set: 'core', version: '1.2.0' });
    expect(parseServesFilter('core')).to.be.a('string').and.match(/^receivers\.invalid-filter: "core" is not a set@version/);
    expect(parseServesFilter('core@latest')).to.be.a('string');
  });
});
