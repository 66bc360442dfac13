import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { canonicalJson } from '@anvil/content-schema';
import { buildTarget } from '../../build/build-target.ts';
import { formatProblem, hasErrors, type Problem } from '../../lint/problem.ts';
import { colour, EXIT_OK, EXIT_USER_ERROR } from '../cli-io.ts';
import { buildContextOf, targetOf } from '../build-context.ts';
import type { Command } from '../command.ts';
import { openRepo } from '../open-snapshot.ts';
import { loadRepo } from '../../load/load-repo.ts';
import { openGitSnapshot } from '../../repo/git-snapshot.ts';
import { parseReleaseTagName } from '../../repo/release-tags.ts';

export const buildCommand: Command = {
  name: 'build',
  usage: 'anvil build [<set>…] [--ref <ref|version>] [--out <dir>] [--json] [--repo <dir>]',
  help: [
    'Options:',
    '  --ref <ref>    build a branch, commit or tag instead of the working tree; with one set, a',
    '                 version (1.2.0) means its release tag, built exactly as released',
    '  --out <dir>    write <dir>/<set>@<version>.json per set (default: print the bundles, one',
    '                 JSON document per line, on stdout)',
    '  --json         with --out, print what was written as JSON instead of a summary',
    '  --repo <dir>   the repository (default: the nearest folder with anvil.yaml or .git)',
    '',
    'Without sets, every set is built. Bundles are canonical JSON (DESIGN.md §7) and',
    'deterministic: the same release gives the same bytes on any machine, at any time. A set whose',
    'git tree did not change since the last build is not recompiled (the cache is in .git/anvil/).',
    'A build that is not a release is a head build: <next patch>-head.<n>+<sha7>.',
    '',
    'Examples:',
    '  anvil build onboarding                      # the working tree, to stdout',
    '  anvil build --out dist/bundles              # every set',
    '  anvil build onboarding --ref 1.2.0 --out .  # the release onboarding@1.2.0',
  ].join('\n'),
  options: { ref: { type: 'string' }, out: { type: 'string' }, repo: { type: 'string' }, json: { type: 'boolean' } },
  async run({ values, positionals }, io) {
    // The working tree is opened for tags and config; --ref is resolved per set (a version names a release).
    const opened = await openRepo({ repo: values['repo'] }, io.cwd);
    const ctx = await buildContextOf(opened);
    const ref = values['ref'] as string | undefined;
    const releaseTag = ref === undefined ? undefined : parseReleaseTagName(ref);
    const sets = positionals.length > 0 ? positionals
      : releaseTag?.ok ? [releaseTag.set]
        : (await loadRepo(ref === undefined ? opened.snapshot : await openGitSnapshot(ctx.root, ref, { cache: ctx.cache }))).sets.map((s) => s.name);
    const out = typeof values['out'] === 'string' ? path.resolve(io.cwd, values['out']) : undefined;

    const problems: Problem[] = [];
    const written: { set: string; version: string; integrity: string; file?: string; reused: boolean; compiled: number; threads: number }[] = [];
    for (const set of sets) {
      const built = await buildTarget(ctx, set, targetOf(positionals.length === 1 ? set : undefined, ref, opened));
      problems.push(...built.problems);
      if (!built.bundle || hasErrors(built.problems)) continue;
      const { bundle } = built;
      const text = canonicalJson(bundle);
      const entry = { set, version: bundle.version, integrity: bundle.integrity, reused: built.reused, compiled: built.compiled, threads: built.threads };
      if (out) {
        await mkdir(out, { recursive: true });
        const file = path.join(out, `${set}@${bundle.version}.json`);
        await writeFile(file, `${text}\n`);
        written.push({ ...entry, file });
        if (!values['json']) io.err(`${colour(io, 32, 'built')} ${set}@${bundle.version} → ${path.relative(io.cwd, file) || file}${built.reused ? ' (tree unchanged, not recompiled)' : ` (${built.compiled} prompt file${built.compiled === 1 ? '' : 's'} compiled${built.threads > 1 ? ` on ${built.threads} threads` : ''})`}`);
      } else {
        io.out(text);
        written.push(entry);
      }
    }

    for (const p of problems) io.err(colour(io, p.severity === 'error' ? 31 : 33, formatProblem(p)));
    if (out && values['json']) io.out(JSON.stringify({ ok: !hasErrors(problems), bundles: written, problems }, null, 2));
    return hasErrors(problems) ? EXIT_USER_ERROR : EXIT_OK;
  },
};
