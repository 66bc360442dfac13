/**
 * Runs Dotprompt's own conformance suite (../shared/conformance/dotprompt-spec, or
 * $ANVIL_CONFORMANCE_DIR) against our renderer, judged as ../shared/conformance/README.md says:
 * 1. render → result without `raw` deep-equals `expect` without `raw` and `input`
 *    (`ext`, `config`, `metadata` default to {}; compared after a JSON round trip);
 * 2. `expect.raw`, when given, deep-equals the result's `raw`;
 * 3. the metadata alone deep-equals `expect` without `messages` and `raw`.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { parse as parseYaml } from 'yaml';
import { PromptEnvironment, type Message } from '@anvil/client';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../../..');
const suiteDir = process.env['ANVIL_CONFORMANCE_DIR']
  ? path.resolve(process.env['ANVIL_CONFORMANCE_DIR'])
  : path.resolve(repoRoot, '../shared/conformance/dotprompt-spec');

interface SpecCase {
  desc: string;
  data?: SpecData;
  options?: { input?: { default?: Record<string, unknown> } };
  expect: Record<string, unknown>;
}
interface SpecData {
  input?: Record<string, unknown>;
  context?: Record<string, unknown>;
  messages?: Message[];
  docs?: never[];
}
interface SpecSuite {
  name: string;
  template: string;
  data?: SpecData;
  schemas?: Record<string, Record<string, unknown>>;
  partials?: Record<string, string>;
  resolverPartials?: Record<string, string>;
  tests: SpecCase[];
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).sort().flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return yamlFiles(full);
    return name.endsWith('.yaml') ? [full] : [];
  });
}

/** JSON round trip: `undefined` members do not count. */
function plain(value: unknown): unknown {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}

function withDefaults(expected: Record<string, unknown>): Record<string, unknown> {
  return { ...expected, ext: expected['ext'] ?? {}, config: expected['config'] ?? {}, metadata: expected['metadata'] ?? {} };
}

function omit(obj: Record<string, unknown>, ...keys: string[]): Record<string, unknown> {
  const out = { ...obj };
  for (const k of keys) delete out[k];
  return out;
}

describe('Dotprompt conformance suite', function () {
  if (!existsSync(suiteDir)) {
    it(`is not available at ${suiteDir} (set ANVIL_CONFORMANCE_DIR to run it)`, function () {
      this.skip();
    });
    return;
  }

  const files = yamlFiles(suiteDir);
  let cases = 0;
  for (const file of files) {
    const suites = parseYaml(readFileSync(file, 'utf8')) as SpecSuite[];
    describe(path.relative(suiteDir, file), function () {
      for (const suite of suites) {
        describe(suite.name, function () {
          for (const tc of suite.tests) {
            cases++;
            it(tc.desc, function () {
              const env = new PromptEnvironment({
                partials: suite.partials,
                schemas: suite.schemas,
                resolvePartial: (name) => suite.resolverPartials?.[name],
              });
              const prompt = env.compile(suite.template, { metadata: tc.options });
              const data: SpecData = { ...suite.data, ...tc.data };
              const messages = prompt.renderMessages(data.input, {
                context: data.context, messages: data.messages, docs: data.docs,
              });

              // 1. The render result (Dotprompt drops `input` from it).
              const result = { ...omit(prompt.metadata as Record<string, unknown>, 'input'), messages };
              expect(plain(result)).to.deep.equal(plain(withDefaults(omit(tc.expect, 'raw', 'input'))));

              // 2. Raw front matter.
              if (tc.expect['raw'] !== undefined) expect(plain(prompt.raw)).to.deep.equal(plain(tc.expect['raw']));

              // 3. Metadata alone.
              expect(plain(prompt.metadata)).to.deep.equal(plain(withDefaults(omit(tc.expect, 'messages', 'raw'))));
            });
          }
        });
      }
    });
  }

  it('has every case of the suite (117 at the pinned commit)', function () {
    if (process.env['ANVIL_CONFORMANCE_DIR']) this.skip(); // another suite may have another count
    expect(cases).to.equal(117);
  });
});
