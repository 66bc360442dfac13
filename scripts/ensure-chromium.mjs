// The dashboard's browser tests drive Debian's Chromium (issue 15; Playwright's own browser
// download cannot reach its servers here). `npm test` runs this first so that the README's one
// test command works on a fresh Debian machine: when /usr/bin/chromium (or $ANVIL_CHROMIUM) is
// missing and apt-get can run as root, it installs the `chromium` package. Otherwise it says
// what to do and carries on: the browser tests then fail, with the same message, rather than skip.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const browser = process.env.ANVIL_CHROMIUM ?? '/usr/bin/chromium';
if (!existsSync(browser)) {
  // Installing Debian's package only helps where the tests will look for it.
  const canInstall = process.env.ANVIL_CHROMIUM === undefined && process.platform === 'linux' && process.getuid?.() === 0 && existsSync('/usr/bin/apt-get');
  if (canInstall) {
    console.log('installing Debian\'s chromium for the dashboard\'s browser tests (apt-get install chromium)');
    try {
      const quiet = { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } };
      execFileSync('apt-get', ['update', '-qq'], quiet);
      execFileSync('apt-get', ['install', '-y', '-qq', 'chromium'], quiet);
    } catch (err) {
      console.log(`chromium could not be installed (${err.message}): the browser tests will fail`);
    }
  } else {
    console.log(`no Chromium at ${browser}: install Debian's package (sudo apt-get install chromium) or set ANVIL_CHROMIUM; the browser tests will fail`);
  }
}
