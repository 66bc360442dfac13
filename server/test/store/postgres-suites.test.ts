/**
 * The forge's suites that build on createTestForge, startPublishedForge and the end-to-end
 * forge, run again on PostgreSQL (issue 16): the queue and push worker, fan-out with a forge
 * killed mid-way, webhook intake, tokens and revocation, the GitHub outbox, the dashboard's
 * publish progress, git → webhook → publish → receivers. The same tests, in a mocha of their own
 * with ANVIL_TEST_STORE=postgres, each forge in a fresh schema (test-postgres.ts); their SQLite
 * run is the usual one. Left out for time, and passing on PostgreSQL when run so: the HTTP
 * routes' suites (server/test/http, about 10 s) and those on startGitHubForge (review, trust,
 * the dashboard's publish pages; about 80 s).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** Globs from the repository root. */
export const POSTGRES_SUITES = [
  'server/test/deliver/*.test.ts',
  'server/test/webhooks/*.test.ts',
  'server/test/access/access-tokens.test.ts',
  'server/test/trust/revocation.test.ts',
  'server/test/github/github-client-and-outbox.test.ts',
  'server/test/dashboard/publish-events.test.ts',
  'server/test/forge/forge-e2e.test.ts',
];

describe('the forge suites on PostgreSQL', function () {
  this.timeout(300_000);

  it('pass with every store on the test PostgreSQL server', async () => {
    const args = ['--no-config', '--node-option', 'conditions=anvil-source', '--node-option', 'import=tsx', '--timeout', '30000', '--reporter', 'dot', ...POSTGRES_SUITES];
    const { code, output } = await new Promise<{ code: number; output: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [path.join(ROOT, 'node_modules/mocha/bin/mocha.js'), ...args], {
        cwd: ROOT, env: { ...process.env, ANVIL_TEST_STORE: 'postgres' }, stdio: ['ignore', 'pipe', 'pipe'],
      });
      let text = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      child.on('error', reject);
      child.on('close', (exit, signal) => resolve({ code: exit ?? (signal ? 128 : 1), output: text }));
    });
    const passing = /(\d+) passing/.exec(output)?.[1];
    // The failures as mocha wrote them, so that the reason shows in this test's own report.
    expect(code, `ANVIL_TEST_STORE=postgres mocha ${POSTGRES_SUITES.join(' ')}\n${output.slice(-6_000)}`).to.equal(0);
    expect(Number(passing), 'a run that passed nothing tested nothing').to.be.greaterThan(100);
  });
});
