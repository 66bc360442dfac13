import type { Archive } from '../schemas/archive.ts';
import type { ValidationResult } from './issues.ts';
import { joinPointer } from './issues.ts';
import { asRecord, entriesOf, fieldAt, stringAt } from './read-data.ts';
import { runValidation } from './run-validation.ts';
import { checkRange } from './semver-checks.ts';

/**
 * Validates a parsed export archive (`anvil.archive/1`): its shape, and that its parts agree —
 * `what` names a requested set of the archive, every set has its set.yaml, every dependency is
 * in the archive, and the manifest lists exactly the files the archive holds. It does not hash:
 * `anvil import` checks each file against the manifest and the archive against `integrity`.
 */
export function validateArchive(input: unknown): ValidationResult<Archive> {
  return runValidation<Archive>(input, {
    validator: 'archive',
    check(data, { error, faulted }) {
      const manifest = fieldAt(data, 'manifest');
      const sets = fieldAt(manifest, 'sets');
      const files = fieldAt(data, 'files');

      const what = fieldAt(manifest, 'what');
      const kind = stringAt(what, 'kind');
      const set = stringAt(what, 'set');
      if (kind === 'project' && (set !== undefined || fieldAt(what, 'prompt') !== undefined)) {
        error('/manifest/what', 'archive.what', 'a project export names no set or prompt');
      }
      if ((kind === 'set' || kind === 'prompt') && set === undefined) {
        error('/manifest/what', 'archive.what', `a ${kind} export names its set`);
      }
      if (kind === 'prompt' && fieldAt(what, 'prompt') === undefined) {
        error('/manifest/what', 'archive.what', 'a prompt export names its prompt');
      }
      if (set !== undefined && !faulted('/manifest/what/set') && stringAt(fieldAt(sets, set), 'role') !== 'requested') {
        error('/manifest/what/set', 'archive.what', `the archive has no requested set "${set}"`);
      }

      for (const [name, entry] of entriesOf(sets)) {
        const base = joinPointer('/manifest/sets', name);
        if (asRecord(fieldAt(entry, 'files')) && fieldAt(fieldAt(entry, 'files'), 'set.yaml') === undefined) {
          error(joinPointer(base, 'files'), 'archive.missing-set-config', `set "${name}" has no set.yaml`);
        }
        if (stringAt(entry, 'stage') === 'release' && stringAt(entry, 'tag') === undefined) {
          error(base, 'archive.tag-missing', `set "${name}" is a release but names no tag`);
        }
        for (const [dependency, range] of entriesOf(fieldAt(entry, 'dependencies'))) {
          const path = joinPointer(base, 'dependencies', dependency);
          checkRange(error, path, range);
          if (dependency === name) error(path, 'archive.self-dependency', `set "${name}" depends on itself`);
          else if (asRecord(sets) && fieldAt(sets, dependency) === undefined) {
            error(path, 'archive.missing-dependency', `set "${name}" depends on "${dependency}", which the archive does not hold`);
          }
        }
        const texts = fieldAt(files, name);
        for (const [file] of entriesOf(fieldAt(entry, 'files'))) {
          if (asRecord(texts) && fieldAt(texts, file) === undefined) {
            error(joinPointer(base, 'files', file), 'archive.missing-file', `the manifest lists ${name}/${file}, which the archive does not hold`);
          }
        }
      }
      for (const [name, texts] of entriesOf(files)) {
        const listed = fieldAt(fieldAt(sets, name), 'files');
        for (const [file] of entriesOf(texts)) {
          if (asRecord(sets) && fieldAt(listed, file) === undefined) {
            error(joinPointer('/files', name, file), 'archive.unlisted-file', `${name}/${file} is not in the manifest`);
          }
        }
      }
    },
  });
}
