/**
 * `npm run bench [name…]`: runs the benchmarks (all, or those named) and prints their results
 * as Markdown, ready for bench/RESULTS.md.
 */
import { buildBenchmark } from './build.bench.ts';
import { clientBenchmark } from './client.bench.ts';
import { renderBenchmark } from './render.bench.ts';

const benchmarks: Record<string, () => Promise<string>> = {
  render: renderBenchmark,
  build: buildBenchmark,
  client: clientBenchmark,
  parse: () => import('./parse-floor.bench.ts').then((m) => m.parseFloorBenchmark()),
  fanout: () => import('./fanout.bench.ts').then((m) => m.fanoutBenchmark()),
  propagation: () => import('./propagation.bench.ts').then((m) => m.propagationBenchmark()),
  startup: () => import('./startup.bench.ts').then((m) => m.startupBenchmark()),
  dashboard: () => import('./dashboard.bench.ts').then((m) => m.dashboardBenchmark()),
  'scale-out': () => import('./scale-out.bench.ts').then((m) => m.scaleOutBenchmark()),
  metrics: () => import('./metrics.bench.ts').then((m) => m.metricsBenchmark()),
};

const wanted = process.argv.slice(2);
for (const name of wanted) {
  if (!(name in benchmarks)) {
    console.error(`unknown benchmark "${name}"; known: ${Object.keys(benchmarks).join(', ')}`);
    process.exit(1);
  }
}
for (const [name, run] of Object.entries(benchmarks)) {
  if (wanted.length > 0 && !wanted.includes(name)) continue;
  console.log(await run());
  console.log('');
}
