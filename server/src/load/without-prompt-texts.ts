/**
 * A snapshot as loadRepo should see it to load the layout of a repository without the texts of
 * its prompt files: a prompt file (or partial) for which `keep` says no reads as empty text,
 * without touching git. Everything else — the file list, tree and blob ids, anvil.yaml and
 * set.yaml — is the snapshot's own, so sets, names, configs and layout problems come out exactly
 * as from a full load (loadRepo never looks inside a prompt file).
 *
 * A build reads the texts it needs from the snapshot itself (BuildSetOptions.promptTexts); a
 * loaded prompt with an empty text must never be compiled as if that were its content.
 */
import type { RepoSnapshot } from '../repo/snapshot.ts';
import { PROMPT_EXTENSIONS } from './load-repo.ts';

export function withoutPromptTexts(snapshot: RepoSnapshot, keep: (file: string) => boolean): RepoSnapshot {
  const blobId = snapshot.blobId?.bind(snapshot);
  return {
    label: snapshot.label,
    source: snapshot.source,
    listFiles: (dir) => snapshot.listFiles(dir),
    readText: async (file) => (PROMPT_EXTENSIONS.some((e) => file.endsWith(e)) && !keep(file) ? '' : snapshot.readText(file)),
    treeId: (dir) => snapshot.treeId(dir),
    ...(blobId === undefined ? {} : { blobId }),
  };
}
