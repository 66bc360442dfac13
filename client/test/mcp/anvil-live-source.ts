// `anvil-live` run from its TypeScript sources, as bin/anvil-live.js runs the built one: the
// MCP tests start it as a child process without needing `npm run build` first.
import { runAsProcess } from '../../src/cli/cli-frame.ts';
import { runLiveCli } from '../../src/cli/main.ts';

await runAsProcess(runLiveCli);
