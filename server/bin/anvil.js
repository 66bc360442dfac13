#!/usr/bin/env node
// `anvil`: the compiled CLI in dist/ (`npm run build` makes it in a clone of the repository).
import { runAsProcess } from '@anvil/client/cli-frame';
import { runCli } from '../dist/cli/main.js';

await runAsProcess(runCli);
