/** Every `anvil-live` command documents itself; unknown ones fail as user errors. */
import os from 'node:os';
import { expect } from 'chai';
import { LIVE_COMMANDS } from '../../src/cli/main.ts';
import { anvilLive } from './cli-support.ts';

describe('anvil-live --help', function () {
  it('lists every command', async function () {
    const run = await anvilLive(os.tmpdir(), ['--help']);
    expect(run.code).to.equal(0);
    for (const name of ['connect', 'install', 'sync', 'mode', 'status']) expect(run.stdout).to.match(new RegExp(`^  ${name}\\s`, 'm'));
  });

  for (const entry of LIVE_COMMANDS) {
    it(`documents ${entry.name}: usage and options`, async function () {
      const command = await entry.load();
      const run = await anvilLive(os.tmpdir(), [command.name, '--help']);
      expect(run.code).to.equal(0);
      expect(run.stdout).to.include(`Usage: anvil-live ${command.name}`).and.include('--config <file>');
      for (const option of Object.keys(command.options)) expect(run.stdout, `--${option}`).to.include(`--${option}`);
    });
  }

  it('answers an unknown command or flag with exit 1 and a hint', async function () {
    const unknown = await anvilLive(os.tmpdir(), ['instal']);
    expect(unknown.code).to.equal(1);
    expect(unknown.stderr).to.include('cli.unknown-command').and.include('install');
    const flag = await anvilLive(os.tmpdir(), ['status', '--frozen']);
    expect(flag.code).to.equal(1);
    expect(flag.stderr).to.include('cli.bad-arguments');
  });
});
