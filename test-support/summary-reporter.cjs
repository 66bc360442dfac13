// Mocha's spec reporter plus one plain closing line, "N passed, N failed, N skipped",
// which CI reads (mocha's own summary is not read there). Before it, the slowest test files,
// so that the suite's time budget (about 10 minutes on a 2-core machine) can be watched.
'use strict';
const path = require('node:path');
const { reporters, Runner } = require('mocha');

const SLOWEST = 12;

class SummaryReporter extends reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    const started = new Map();
    const byFile = new Map();
    const runStart = Date.now();
    // Wall time per file, from its top-level suites: hooks (installs, servers) included.
    runner.on(Runner.constants.EVENT_SUITE_BEGIN, (suite) => {
      if (suite.file && suite.parent?.root) started.set(suite, Date.now());
    });
    runner.on(Runner.constants.EVENT_SUITE_END, (suite) => {
      const at = started.get(suite);
      if (at === undefined) return;
      const file = path.relative(process.cwd(), suite.file);
      byFile.set(file, (byFile.get(file) ?? 0) + Date.now() - at);
    });
    runner.once(Runner.constants.EVENT_RUN_END, () => {
      const { passes, failures, pending } = this.stats;
      const slowest = [...byFile].sort((a, b) => b[1] - a[1]).slice(0, SLOWEST);
      if (slowest.length > 0) {
        process.stdout.write(`\nslowest files (of ${byFile.size}, ${Math.round((Date.now() - runStart) / 1000)} s in all):\n`);
        for (const [file, ms] of slowest) process.stdout.write(`  ${(ms / 1000).toFixed(1).padStart(6)} s  ${file}\n`);
      }
      process.stdout.write(`\n${passes} passed, ${failures} failed, ${pending} skipped\n`);
    });
  }
}
module.exports = SummaryReporter;
