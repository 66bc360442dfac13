import path from 'node:path';
import semver from 'semver';
import { AnvilError, parseAddress, type Archive, type ArchiveKind } from '@anvil/content-schema';
import { writeFileAtomic } from '@anvil/client';
import { formatProblem } from '../../lint/problem.ts';
import { versionsOf } from '../../repo/release-tags.ts';
import { formatArchive } from '../../transfer/build-archive.ts';
import { exportArchive } from '../../transfer/export-archive.ts';
import { colour, EXIT_OK, EXIT_USER_ERROR } from '../cli-io.ts';
import { targetOf } from '../build-context.ts';
import { textTable } from '../text-table.ts';
import type { Command } from '../command.ts';
import { openRepo, type OpenedRepo } from '../open-snapshot.ts';

export const exportCommand: Command = {
  name: 'export',
  usage: 'anvil export [<set> | <set>/<prompt> | .] [--at <version|ref>] [--out <file>] [--json] [--repo <dir>]',
  help: [
    'Writes one JSON file (format anvil.archive/1, content-schema/schemas/archive.schema.json) that',
    '`anvil import` reads into another prompt repository:',
    '  anvil export                           the whole project: every set',
    '  anvil export onboarding                a set, with the partials of the sets it depends on',
    '  anvil export onboarding/welcome.message   one prompt: its variants, the partials it includes',
    '  anvil export onboarding@1.2.0          a release (the same as --at 1.2.0): the set as tagged,',
    '                                         each dependency at the release the tag recorded',
    '',
    'The archive holds the files as they are (front matter, schemas, bodies), a manifest of what',
    'was exported, from which repository and commit, each set\'s version, and the sha256 of every',
    'file; `anvil import` refuses an archive changed after export. Lint errors in the exported',
    'files stop the export.',
    '',
    'Options:',
    '  --at <v|ref>   export a release (1.2.0, onboarding@1.2.0, ^1.2, latest) or any branch,',
    '                 tag or commit, instead of the working tree',
    '  --out <file>   where to write (default: <set>[.<prompt>]@<version>.anvil.json, or',
    '                 <project>.anvil.json; "-" prints the archive)',
    '  --json         print {ok, file, what, source, sets, integrity} as JSON',
    '  --repo <dir>   the repository (default: the nearest folder with anvil.yaml or .git)',
  ].join('\n'),
  options: { at: { type: 'string' }, out: { type: 'string' }, json: { type: 'boolean' }, repo: { type: 'string' } },
  async run({ values, positionals }, io) {
    const [spec, ...extra] = positionals;
    if (extra.length > 0) throw new AnvilError('cli.bad-arguments', 'export one project, set or prompt at a time', { hint: 'e.g. anvil export onboarding' });
    const opened = await openRepo({ repo: values['repo'] }, io.cwd);
    const what = whatOf(spec);
    const at = atOf(what, values['at'] as string | undefined, opened);
    const ref = at === undefined ? undefined : resolveAt(what, at, opened);

    const outcome = await exportArchive(opened, { kind: what.kind, set: what.set, prompt: what.prompt, ref });
    for (const p of outcome.problems) io.err(colour(io, p.severity === 'error' ? 31 : 33, formatProblem(p)));
    if (!outcome.archive) {
      io.err(colour(io, 31, 'nothing exported: fix the errors above (anvil lint shows them all), then export again'));
      return EXIT_USER_ERROR;
    }
    const { archive } = outcome;
    const text = formatArchive(archive);
    const out = values['out'] as string | undefined;
    if (out === '-') {
      io.out(text);
      return EXIT_OK;
    }
    const file = path.resolve(io.cwd, out ?? defaultFileName(archive, opened.project));
    await writeFileAtomic(file, Buffer.from(text, 'utf8'));
    const shown = path.relative(io.cwd, file) || file;
    if (values['json']) {
      io.out(JSON.stringify({
        ok: true, file, what: archive.manifest.what, source: archive.manifest.source,
        sets: Object.fromEntries(Object.entries(archive.manifest.sets).map(([name, s]) => [name, {
          version: s.version, stage: s.stage, role: s.role, contents: s.contents, files: Object.keys(s.files).length,
        }])),
        integrity: archive.integrity,
      }, null, 2));
      return EXIT_OK;
    }
    io.out(`exported ${describe(archive)} to ${shown}`);
    const rows = Object.entries(archive.manifest.sets).map(([name, s]) => {
      const count = Object.keys(s.files).length;
      const contents = s.contents === 'all' ? 'all files' : s.contents === 'prompt' ? 'one prompt' : 'partials';
      return [name, s.version, s.stage, s.role, contents, `${count} file${count === 1 ? '' : 's'}`];
    });
    for (const line of textTable(['set', 'version', 'stage', 'role', 'contents', 'files'], rows)) io.out(`  ${line}`);
    io.out(`integrity ${archive.integrity}`);
    return EXIT_OK;
  },
};

interface What {
  kind: ArchiveKind;
  set?: string | undefined;
  prompt?: string | undefined;
  /** A version written in the address (`onboarding@1.2.0`). */
  version?: string | undefined;
  repository?: string | undefined;
}

function whatOf(spec: string | undefined): What {
  if (spec === undefined || spec === '.') return { kind: 'project' };
  if (/^@[^/]*$/.test(spec)) return { kind: 'project', repository: spec };
  const address = parseAddress(spec);
  const version = address.version;
  let written: string | undefined;
  if (version?.kind === 'exact') written = version.version;
  else if (version?.kind === 'range') written = version.range;
  else if (version?.kind === 'latest') written = 'latest';
  // An alias is resolved by targetOf, from anvil.yaml (issue 17).
  else if (version?.kind === 'alias') written = version.alias;
  else if (version?.kind === 'channel') {
    throw new AnvilError('export.channel', `"${version.channel}" is a channel; what a channel holds is decided by the forge`, { hint: 'name a version, a range or latest' });
  }
  return { kind: address.prompt === undefined ? 'set' : 'prompt', set: address.set, prompt: address.prompt, version: written, repository: address.repository };
}

function atOf(what: What, at: string | undefined, opened: OpenedRepo): string | undefined {
  if (what.repository !== undefined) {
    const scope = `@${opened.project}`;
    if (what.repository !== scope) throw new AnvilError('export.other-repository', `this repository is ${scope}, not ${what.repository}`, { hint: 'drop the scope, or run in that repository' });
  }
  if (what.version !== undefined && at !== undefined) {
    throw new AnvilError('cli.bad-arguments', 'the address names a version already; drop --at', { hint: 'use one of them' });
  }
  return what.version ?? at;
}

/** A release (version, range, latest, `<set>@<version>`) as its tag, or any other ref as it is. */
function resolveAt(what: What, at: string, opened: OpenedRepo): string {
  if (what.kind === 'project') {
    if (semver.valid(at) !== null || at === 'latest') {
      throw new AnvilError('cli.bad-arguments', `--at ${at} is a version of one set; a project export takes a ref`, { hint: 'export the set (anvil export <set>@<version>), or give a branch, tag or commit' });
    }
    const target = targetOf(undefined, at, opened);
    return target.kind === 'ref' ? target.ref : at;
  }
  const set = what.set!;
  if (at === 'latest' || (semver.validRange(at) !== null && semver.valid(at) === null && !opened.tags.some((t) => t.name === at))) {
    const versions = versionsOf(opened.tags, set);
    const best = at === 'latest' ? semver.rsort(versions.filter((v) => semver.prerelease(v) === null))[0] : semver.maxSatisfying(versions, at) ?? undefined;
    if (best === undefined) {
      throw new AnvilError('export.no-release', `no release of ${set} matches ${at}`, {
        hint: versions.length > 0 ? `releases: ${versions.join(', ')}` : `${set} has no release yet; export the working tree without --at`,
      });
    }
    return `${set}@${best}`;
  }
  const target = targetOf(set, at, opened);
  return target.kind === 'ref' ? target.ref : at;
}

function describe(archive: Archive): string {
  const { what, sets, project } = archive.manifest;
  if (what.kind === 'project') return `project ${project} (${Object.keys(sets).length} sets)`;
  const version = sets[what.set!]!.version;
  return what.kind === 'set' ? `set ${what.set}@${version}` : `prompt ${what.set}@${version}/${what.prompt}`;
}

function defaultFileName(archive: Archive, project: string): string {
  const { what, sets } = archive.manifest;
  if (what.kind === 'project') return `${project}.anvil.json`;
  const version = sets[what.set!]!.version;
  return `${what.set}${what.kind === 'prompt' ? `.${what.prompt}` : ''}@${version}.anvil.json`;
}
