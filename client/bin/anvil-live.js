#!/usr/bin/env node
// `anvil-live`: the compiled CLI in dist/ (`npm run build` makes it in a clone of the repository).
import { runAsProcess } from '../dist/cli/cli-frame.js';
import { runLiveCli } from '../dist/cli/main.js';

await runAsProcess(runLiveCli);
