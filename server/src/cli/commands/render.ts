import { readFile } from 'node:fs/promises';
import path from 'node:path';
import semver from 'semver';
import { AnvilError, closest, formatVersionSelector, parseAddress, type Address } from '@anvil/content-schema';
import { bundleEnvironment, compileBundlePrompt } from '@anvil/client';
import { buildTarget, type BuildTarget } from '../../build/build-target.ts';
import { formatMessages } from '../../diff/render-for-review.ts';
import { formatProblem, hasErrors } from '../../lint/problem.ts';
import { versionsOf } from '../../repo/release-tags.ts';
import { colour, EXIT_OK, EXIT_USER_ERROR } from '../cli-io.ts';
import { aliasTarget, buildContextOf } from '../build-context.ts';
import type { Command } from '../command.ts';
import { openRepo, type OpenedRepo } from '../open-snapshot.ts';

export const renderCommand: Command = {
  name: 'render',
  usage: 'anvil render <address> [--var name=value]… [--vars file.json] [--variant <name>] [--messages] [--json]',
  help: [
    'The address is <set>/<prompt>, optionally with a version and the repository scope:',
    '  onboarding/welcome.message                 the working tree (or --ref)',
    '  onboarding@1.2.0/welcome.message           the release onboarding@1.2.0',
    '  onboarding@^1.2/welcome.message            the highest release in the range',
    '  @acme/onboarding@latest/welcome.message    the highest stable release',
    '  onboarding@stable/welcome.message          the release anvil.yaml\'s alias names (anvil alias)',
    '',
    'Options:',
    '  --var name=value    a string variable; name:=json for any JSON value (count:=3,',
    '                      tags:=\'["a","b"]\'); repeatable, applied after --vars',
    '  --vars <file.json>  variables from a JSON object',
    '  --variant <name>    render a variant (fr, formal…) instead of the base prompt',
    '  --messages          print the messages with their roles, not the plain text',
    '  --ref <ref>         for an address without a version: a branch, tag or commit',
    '  --json              print {address, version, variant, vars, text|messages} as JSON',
    '  --repo <dir>        the repository',
    '',
    'Input defaults apply as in an app. A required variable left out is named on stderr.',
  ].join('\n'),
  options: {
    var: { type: 'string', multiple: true }, vars: { type: 'string' }, variant: { type: 'string' },
    messages: { type: 'boolean' }, ref: { type: 'string' }, json: { type: 'boolean' }, repo: { type: 'string' },
  },
  async run({ values, positionals }, io) {
    const [text, ...extra] = positionals;
    if (text === undefined || extra.length > 0) throw new AnvilError('cli.bad-arguments', 'give one prompt address', { hint: 'e.g. anvil render onboarding/welcome.message --var name=Ada' });
    const address = parseAddress(text);
    const opened = await openRepo({ repo: values['repo'] }, io.cwd);
    const ctx = await buildContextOf(opened, { preview: true });
    const vars = await readVars(values, io.cwd);

    const built = await buildTarget(ctx, address.set, targetFor(address, values['ref'] as string | undefined, opened), { preview: true });
    for (const p of built.problems) io.err(colour(io, p.severity === 'error' ? 31 : 33, formatProblem(p)));
    if (!built.bundle || hasErrors(built.problems)) return EXIT_USER_ERROR;
    const { bundle } = built;
    const scope = bundle.repository;
    if (address.repository !== undefined && address.repository !== scope) {
      throw new AnvilError('render.other-repository', `this repository is ${scope}, not ${address.repository}`, { hint: `drop the scope, or write ${scope}/…` });
    }
    if (address.prompt === undefined) {
      throw new AnvilError('render.no-prompt', `name the prompt of ${address.set} to render`, {
        hint: `e.g. ${address.set}/${Object.keys(bundle.prompts).sort()[0] ?? 'welcome.message'}; prompts: ${Object.keys(bundle.prompts).sort().join(', ')}`,
      });
    }
    if (!bundle.prompts[address.prompt]) {
      const suggestion = closest(address.prompt, Object.keys(bundle.prompts));
      throw new AnvilError('render.unknown-prompt', `${address.set} has no prompt "${address.prompt}" at ${built.label}`, {
        hint: suggestion ? `did you mean ${suggestion}?` : `prompts: ${Object.keys(bundle.prompts).sort().join(', ') || 'none'}`,
      });
    }
    const variant = values['variant'] as string | undefined;
    const prompt = compileBundlePrompt(bundleEnvironment(bundle, built.dependencyPartials), bundle, address.prompt, variant);

    const defaults = prompt.metadata.input?.default ?? {};
    const required = prompt.metadata.input?.schema?.['required'];
    for (const name of Array.isArray(required) ? required : []) {
      if (typeof name === 'string' && !(name in vars) && !(name in defaults)) io.err(colour(io, 33, `warning: ${address.prompt} requires "${name}", which was not given (--var ${name}=…)`));
    }

    const messages = values['messages'] === true;
    const rendered = messages ? prompt.renderMessages(vars) : prompt.renderText(vars);
    if (values['json']) {
      io.out(JSON.stringify({
        address: `${scope}/${bundle.set}@${bundle.version}/${address.prompt}`, version: bundle.version, variant: variant ?? null, vars,
        ...(messages ? { messages: rendered } : { text: rendered }),
      }, null, 2));
    } else {
      io.out(typeof rendered === 'string' ? rendered : formatMessages(rendered));
    }
    return EXIT_OK;
  },
};

function targetFor(address: Address, ref: string | undefined, opened: OpenedRepo): BuildTarget {
  const selector = address.version;
  if (selector === undefined) return ref === undefined ? { kind: 'worktree' } : { kind: 'ref', ref };
  if (ref !== undefined) throw new AnvilError('cli.bad-arguments', 'the address names a version already; drop --ref', { hint: 'use --ref with an address without @version' });
  const versions = versionsOf(opened.tags, address.set);
  const none = () => new AnvilError('render.no-release', `no release of ${address.set} matches ${formatSelector(address)}`, {
    hint: versions.length > 0 ? `releases: ${versions.join(', ')}` : `${address.set} has no release yet; render the working tree with ${address.set}/${address.prompt ?? '<prompt>'}`,
  });
  switch (selector.kind) {
    case 'exact':
      if (!versions.includes(selector.version)) throw none();
      return { kind: 'ref', ref: `${address.set}@${selector.version}` };
    case 'range': {
      const best = semver.maxSatisfying(versions, selector.range);
      if (best === null) throw none();
      return { kind: 'ref', ref: `${address.set}@${best}` };
    }
    case 'latest': {
      const best = semver.rsort(versions.filter((v) => semver.prerelease(v) === null))[0];
      if (best === undefined) throw none();
      return { kind: 'ref', ref: `${address.set}@${best}` };
    }
    case 'alias': {
      const version = opened.aliases[address.set]?.[selector.alias];
      if (version === undefined) {
        const known = Object.keys(opened.aliases[address.set] ?? {});
        throw new AnvilError('alias.unknown', `${address.set} has no alias "${selector.alias}" in anvil.yaml`, {
          hint: known.length > 0 ? `aliases of ${address.set}: ${known.join(', ')}` : `make one with \`npx anvil alias set ${address.set} ${selector.alias} <version>\`, or name a version, a range or latest`,
        });
      }
      return { kind: 'ref', ref: aliasTarget(address.set, selector.alias, version, opened) };
    }
    case 'channel':
      throw new AnvilError('render.channel', `"${selector.channel}" is a channel; what a channel holds is decided by the forge`, {
        hint: 'name a version, a range or latest, or ask the forge: GET /api/v1/projects/<project>/envelope?channel=…',
      });
  }
}

function formatSelector(address: Address): string {
  const v = address.version;
  if (!v) return 'any version';
  return formatVersionSelector(v);
}

async function readVars(values: Record<string, unknown>, cwd: string): Promise<Record<string, unknown>> {
  // Variables are data: a "__proto__" key must stay a key, never the object's prototype.
  const vars = Object.create(null) as Record<string, unknown>;
  const file = values['vars'];
  if (typeof file === 'string') {
    const where = path.resolve(cwd, file);
    const text = await readFile(where, 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw new AnvilError('render.vars-unreadable', `cannot read ${file}: ${err.code ?? err.message}`, { file });
    });
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new AnvilError('render.vars-invalid', `${file} is not valid JSON: ${(err as Error).message}`, { file, hint: 'the file holds one JSON object: {"name": "Ada"}' });
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new AnvilError('render.vars-invalid', `${file} must hold a JSON object of variables`, { file, hint: '{"name": "Ada"}' });
    }
    Object.assign(vars, parsed);
  }
  for (const item of (values['var'] as string[] | undefined) ?? []) {
    const json = /^([^=:]+):=(.*)$/s.exec(item);
    const plain = /^([^=]+)=(.*)$/s.exec(item);
    if (json) {
      try {
        vars[json[1]!] = JSON.parse(json[2]!);
      } catch {
        throw new AnvilError('render.vars-invalid', `--var ${item}: the value after := must be JSON`, { hint: `e.g. ${json[1]}:=3 or ${json[1]}:='["a","b"]'; or ${json[1]}=text for a string` });
      }
    } else if (plain) {
      vars[plain[1]!] = plain[2]!;
    } else {
      throw new AnvilError('cli.bad-arguments', `--var ${item} is not name=value`, { hint: 'e.g. --var name=Ada, or --var count:=3 for JSON' });
    }
  }
  return vars;
}
