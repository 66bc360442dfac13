/**
 * Reads an export archive's text (pure): JSON syntax, the `anvil.archive/1` schema and its
 * cross-checks, then every file against the hash the manifest records and the whole archive
 * against its integrity. Every problem comes back at once, at its line and column in the file;
 * an archive with any error is not used at all.
 */
import {
  ARCHIVE_FORMAT,
  archiveFileIntegrity,
  archiveIntegrity,
  joinPointer,
  validateArchive,
  type Archive,
} from '@anvil/content-schema';
import { problem, type Problem } from '../lint/problem.ts';
import { jsonSyntaxErrorOffset, pointerLocator, positionAt } from './json-position.ts';

export interface ReadArchive {
  archive?: Archive;
  problems: Problem[];
}

const EDITED_HINT = 'the archive was changed after `anvil export` wrote it; export it again from the source repository';

export function readArchive(text: string, file: string): ReadArchive {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  let data: unknown;
  try {
    data = JSON.parse(body);
  } catch (err) {
    const offset = jsonSyntaxErrorOffset(body) ?? body.length;
    const reason = (err as Error).message.replace(/ in JSON at position \d+.*$/s, '').replace(/, ".*" is not valid JSON$/s, '');
    return {
      problems: [problem('error', 'archive.bad-json', `not valid JSON: ${reason}`, {
        file, ...positionAt(body, offset),
        hint: 'an archive is one JSON document written by `anvil export`; was it cut short or edited by hand?',
      })],
    };
  }

  const locate = pointerLocator(body);
  const at = (pointer: string) => ({ file, ...(locate(pointer) ?? {}) });
  const format = typeof data === 'object' && data !== null ? (data as Record<string, unknown>)['format'] : undefined;
  if (format !== ARCHIVE_FORMAT) {
    return {
      problems: [problem('error', 'archive.format', typeof format === 'string'
        ? `this is a "${format}" document, not an Anvil export archive (${ARCHIVE_FORMAT})`
        : `not an Anvil export archive: it has no "format": "${ARCHIVE_FORMAT}"`, {
        ...at(typeof format === 'string' ? '/format' : ''),
        hint: 'import an archive written by `anvil export`, or a folder of Dotprompt (.prompt) or GitHub Models (.prompt.yml) files',
      })],
    };
  }

  const result = validateArchive(data);
  const problems: Problem[] = [
    ...result.errors.map((i) => problem('error', i.code.startsWith('archive.') ? i.code : `archive.${i.code}`, `${i.path || '/'}: ${i.message}`, { ...at(i.path), hint: i.hint ?? EDITED_HINT })),
    ...result.warnings.map((i) => problem('warning', i.code, `${i.path || '/'}: ${i.message}`, { ...at(i.path), hint: i.hint })),
  ];
  if (!result.ok) return { problems };
  const archive = result.value;

  for (const [set, entry] of Object.entries(archive.manifest.sets)) {
    for (const [path, recorded] of Object.entries(entry.files)) {
      const actual = archiveFileIntegrity(archive.files[set]![path]!);
      if (actual !== recorded) {
        problems.push(problem('error', 'archive.file-hash', `${set}/${path} does not match the hash the manifest records for it (${recorded}, the text hashes to ${actual})`, {
          ...at(joinPointer('/files', set, path)), hint: EDITED_HINT,
        }));
      }
    }
  }
  if (problems.every((p) => p.severity !== 'error') && archiveIntegrity(archive as unknown as Record<string, unknown>) !== archive.integrity) {
    problems.push(problem('error', 'archive.integrity', 'the archive does not match its integrity: its manifest was changed after export', {
      ...at('/integrity'), hint: EDITED_HINT,
    }));
  }
  return problems.some((p) => p.severity === 'error') ? { problems } : { archive, problems };
}
