/**
 * The git blob id of a text, as `git hash-object` computes it for the text's UTF-8 bytes: what
 * a file committed with this text would be called. Builds of files outside git (the working
 * tree) key their per-prompt cache on it, so they share entries with builds from commits.
 *
 * A text decoded from a blob that is not valid UTF-8 encodes back to other bytes, so it gets
 * another id than its blob: a cache miss, never a wrong hit, since each id still names exactly
 * one text.
 */
import { createHash } from 'node:crypto';

export function gitBlobId(text: string): string {
  const bytes = Buffer.from(text, 'utf8');
  return createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
}
