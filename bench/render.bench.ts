/**
 * Render benchmark (DESIGN.md §11 "render"): our renderText path on the shared reference
 * prompt, against plain Handlebars compiled once with noEscape (the floor) and Dotprompt's
 * compiled function (npm `dotprompt`), in one process and one run.
 * Promise: within 1.2× of plain Handlebars; at least 4× faster than Dotprompt.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';
import { Dotprompt } from 'dotprompt';
import { PromptEnvironment, parsePromptSource } from '@anvil/client';
import { machine, measure, ratioOfMedians } from './lib/measure.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const sharedBench = process.env['ANVIL_SHARED_BENCH'] ?? path.resolve(here, '../../shared/bench');

export async function renderBenchmark(): Promise<string> {
  const source = readFileSync(path.join(sharedBench, 'reference-prompt.md'), 'utf8');
  const input = JSON.parse(readFileSync(path.join(sharedBench, 'reference-input.json'), 'utf8')) as Record<string, unknown>;

  const prompt = new PromptEnvironment().compile(source, { file: 'reference-prompt.md' });
  const body = parsePromptSource(source).template;
  const plain = Handlebars.create().compile(body, { noEscape: true });
  const dotprompt = await new Dotprompt().compile(source);

  // The three must produce the same text, or the comparison means nothing.
  const expected = plain(input);
  const dp = await dotprompt({ input });
  const dpText = (dp.messages[0]?.content[0] as { text?: string } | undefined)?.text;
  if (prompt.renderText(input) !== expected) throw new Error('renderText differs from plain Handlebars');
  if (dpText !== expected) throw new Error('Dotprompt output differs from plain Handlebars');

  const results = await measure([
    { name: 'plain Handlebars (compiled once, noEscape)', fn: () => plain(input) },
    { name: 'Anvil renderText', fn: () => prompt.renderText(input) },
    { name: 'Anvil renderMessages', fn: () => prompt.renderMessages(input) },
    { name: 'Dotprompt compiled function', fn: () => dotprompt({ input }) },
  ]);
  const [hbs, text, messages, dotp] = results as [typeof results[0], typeof results[0], typeof results[0], typeof results[0]];

  const vsPlain = ratioOfMedians(text, hbs);
  const dotpVsText = ratioOfMedians(dotp, text);
  const lines = [
    `### Render (reference prompt, ${text.samples.length} rounds)`,
    '',
    `Machine: ${machine()}`,
    '',
    '| path | median µs/render |',
    '|---|---|',
    ...results.map((r) => `| ${r.name} | ${r.medianUs.toFixed(3)} |`),
    '',
    `- renderText / plain Handlebars: **${vsPlain.toFixed(2)}×** (promise ≤ 1.2×) — ${vsPlain <= 1.2 ? 'met' : 'NOT met'}`,
    `- Dotprompt / renderText: **${dotpVsText.toFixed(1)}×** faster (promise ≥ 4×) — ${dotpVsText >= 4 ? 'met' : 'NOT met'}`,
    `- renderMessages / plain Handlebars: ${ratioOfMedians(messages, hbs).toFixed(2)}×`,
  ];
  return lines.join('\n');
}
