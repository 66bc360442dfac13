/**
 * An export archive (`anvil.archive/1`): what `anvil export` writes and `anvil import` reads
 * (issue 17). One JSON file a person can open: a `manifest` (what was exported, from which
 * repository and commit, each set's version and the hash of every file) and the `files`
 * themselves, as the text they had in the source repository, by set and by path inside the set
 * folder. Like a bundle it holds no wall-clock time: the same source gives the same bytes.
 *
 * Hashes: each file's is `sha256-<base64>` of its UTF-8 bytes (`archiveFileIntegrity`), and
 * `integrity` is that of the canonical JSON of everything else in the archive
 * (`archiveIntegrity`), so a changed byte anywhere is caught, and the manifest says which file.
 */
import { Type, type Static } from '@sinclair/typebox';
import {
  GitObjectId,
  ISO_DATE_TIME_PATTERN,
  Integrity,
  LIMITS,
  MapOf,
  ProjectName,
  PromptId,
  RepositoryName,
  SemverRange,
  SemverVersion,
  SetName,
  StringEnum,
  schemaHeader,
} from './common.ts';

export const ARCHIVE_FORMAT = 'anvil.archive/1';
/** What an archive was made from: the whole repository, one set, or one prompt of a set. */
export const ARCHIVE_KINDS = ['project', 'set', 'prompt'] as const;
/**
 * How much of a set an archive holds: all its files; one prompt (its variants and the partials
 * it includes); or, for a set depended on, its partials (all a dependent can use of it).
 */
export const ARCHIVE_CONTENTS = ['all', 'prompt', 'partials'] as const;
export const ARCHIVE_ROLES = ['requested', 'dependency'] as const;
export const ARCHIVE_STAGES = ['release', 'head'] as const;

/**
 * A file inside a set folder: `set.yaml`, or a prompt or partial (`.md` or `.prompt`), in
 * folders whose names start with a letter, digit or "_" (so never `..`, never absolute).
 */
export const ARCHIVE_FILE_PATTERN =
  '^(?:set\\.yaml|(?:[A-Za-z0-9_][A-Za-z0-9_.-]*/)*[A-Za-z0-9_][A-Za-z0-9_.-]*\\.(?:md|prompt))$';
const ARCHIVE_FILE_MAX_LENGTH = 1_024;
/** Files per set: every prompt and partial a set may have, plus its set.yaml. */
const ARCHIVE_SET_FILES = LIMITS.prompts + LIMITS.partials + 1;
const ARCHIVE_SETS = LIMITS.dependencies;

function ArchiveFilePath() {
  return Type.String({
    pattern: ARCHIVE_FILE_PATTERN,
    maxLength: ARCHIVE_FILE_MAX_LENGTH,
    patternErrorMessage: 'A path inside the set folder: "set.yaml", or a .md or .prompt file (e.g. "welcome/message.fr.md").',
  });
}

const ArchivedSetSchema = Type.Object(
  {
    version: SemverVersion({
      title: 'Version',
      description: 'The release the files come from (stage "release"), or the head version of the commit they were read at (stage "head").',
    }),
    stage: StringEnum(ARCHIVE_STAGES, { title: 'Stage', description: '"release" when the files are exactly a release tag\'s, else "head".' }),
    role: StringEnum(ARCHIVE_ROLES, { title: 'Role', description: '"requested": what was exported; "dependency": a set it depends on.' }),
    contents: StringEnum(ARCHIVE_CONTENTS, {
      title: 'Contents',
      description: '"all" files of the set; one "prompt" with its variants and partials; or the "partials" a dependent set can include.',
    }),
    commit: GitObjectId({ title: 'Commit', description: 'The commit the files were read at.' }),
    tag: Type.Optional(Type.String({ minLength: 1, maxLength: LIMITS.shortText, title: 'Tag', description: 'The release tag, for stage "release".' })),
    dependencies: MapOf(SetName(), SemverRange(), {
      maxProperties: LIMITS.dependencies,
      title: 'Dependencies',
      description: 'The ranges the set\'s set.yaml declares; each set named is in the archive too.',
    }),
    files: MapOf(ArchiveFilePath(), Integrity(), {
      minProperties: 1,
      maxProperties: ARCHIVE_SET_FILES,
      title: 'Files',
      description: 'Path inside the set folder → sha256-<base64> of the file\'s UTF-8 bytes.',
    }),
  },
  { additionalProperties: false, title: 'Archived set' },
);

export const ArchiveSchema = Type.Object(
  {
    $schema: Type.Optional(Type.String({ maxLength: LIMITS.url, title: 'Schema', description: 'This schema\'s URL, for editors and validators.' })),
    format: Type.Literal(ARCHIVE_FORMAT, { title: 'Format', description: 'Always "anvil.archive/1".' }),
    manifest: Type.Object(
      {
        what: Type.Object(
          {
            kind: StringEnum(ARCHIVE_KINDS, { title: 'Kind', description: 'What was exported: the "project", a "set" or a "prompt".' }),
            set: Type.Optional(SetName({ title: 'Set', description: 'The set exported (kinds "set" and "prompt").' })),
            prompt: Type.Optional(PromptId({ title: 'Prompt', description: 'The prompt exported (kind "prompt").' })),
          },
          { additionalProperties: false, title: 'What', description: 'What was exported.' },
        ),
        project: ProjectName({ title: 'Project', description: 'The project the files come from.' }),
        repository: Type.Optional(RepositoryName({ title: 'Repository', description: 'The source repository\'s scope (anvil.yaml `name`).' })),
        source: Type.Object(
          {
            commit: GitObjectId({ title: 'Commit', description: 'The commit exported from (a release export: the requested release\'s).' }),
            ref: Type.Optional(Type.String({ minLength: 1, maxLength: LIMITS.shortText, title: 'Ref', description: 'The ref or release asked for (`--at`); absent for the working tree.' })),
            committedAt: Type.String({ pattern: ISO_DATE_TIME_PATTERN, title: 'Committed at', description: 'The commit\'s committer date.' }),
            dirty: Type.Boolean({ title: 'Dirty', description: 'True when the working tree had uncommitted changes in the exported sets.' }),
          },
          { additionalProperties: false, title: 'Source' },
        ),
        sets: MapOf(SetName(), ArchivedSetSchema, {
          minProperties: 1,
          maxProperties: ARCHIVE_SETS,
          title: 'Sets',
          description: 'Every set in the archive: the requested ones and those they depend on.',
        }),
      },
      { additionalProperties: false, title: 'Manifest', description: 'What the archive holds, where it comes from, and the hash of every file.' },
    ),
    files: MapOf(
      SetName(),
      MapOf(ArchiveFilePath(), Type.String({ maxLength: LIMITS.template }), { maxProperties: ARCHIVE_SET_FILES }),
      { maxProperties: ARCHIVE_SETS, title: 'Files', description: 'Set → path inside the set folder → the file\'s text.' },
    ),
    integrity: Integrity({ title: 'Integrity', description: 'sha256-<base64> of the canonical JSON of everything else in the archive.' }),
  },
  {
    ...schemaHeader('archive.schema.json'),
    title: 'Anvil export archive',
    description: 'Prompt sets exported by `anvil export`, with their dependencies, for `anvil import` into another prompt repository.',
    additionalProperties: false,
  },
);

/** An export archive. */
export type Archive = Static<typeof ArchiveSchema>;
/** One set of an archive's manifest. */
export type ArchivedSet = Archive['manifest']['sets'][string];
export type ArchiveKind = (typeof ARCHIVE_KINDS)[number];
export type ArchiveContents = (typeof ARCHIVE_CONTENTS)[number];
