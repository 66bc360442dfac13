/** The real `bin/anvil-live.js`, as a shell runs it: no terminal, exit codes, one-line errors. */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { connectArgs, readJson, useForgeAndApp } from './cli-support.ts';

const bin = fileURLToPath(new URL('../../bin/anvil-live.js', import.meta.url));

function run(cwd: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // Asynchronous: the forge answering these requests lives in this process.
    execFile(process.execPath, [bin, ...args], { cwd, env: { ...process.env, ANVIL_TOKEN: '', ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 2) : 0, stdout, stderr });
    });
  });
}

describe('bin/anvil-live.js', function () {
  this.timeout(30_000);
  const ctx = useForgeAndApp();

  it('connects, installs and reports status; a user error is exit 1 and one line', async function () {
    const connected = await run(ctx.app, connectArgs(ctx.forge, 'onboarding@^1.0.0').filter((a, i, all) => a !== '--token' && all[i - 1] !== '--token'), ctx.env);
    expect(connected.code, connected.stderr).to.equal(0);
    expect(await readJson(`${ctx.app}/anvil-live.json`)).to.deep.include({ forgeKeys: { [ctx.forge.key.keyId]: ctx.forge.key.publicKey } });

    const status = await run(ctx.app, ['status', '--json']);
    expect(status.code).to.equal(1);
    expect(JSON.parse(status.stdout)).to.deep.include({ ok: false });
    const missing = await run(ctx.app, ['install']);
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.match(/^anvil-live: config\.no-token {2}no access token: the environment variable ANVIL_TOKEN is not set \(hint: .*\)\n$/);

    const help = await run(ctx.app, ['install', '--help']);
    expect(help.code).to.equal(0);
    expect(help.stdout).to.include('--frozen-lockfile');
  });
});
