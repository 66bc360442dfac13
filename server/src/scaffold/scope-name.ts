import { isRepositoryName } from '@anvil/content-schema';

const FALLBACK = 'prompts';

/**
 * A repository scope made from a folder name: `My Prompts` → `@my-prompts`. Accents are
 * dropped, anything outside a-z 0-9 . _ - becomes "-", and a name with nothing left is
 * `@prompts`; the result always passes `isRepositoryName`.
 */
export function scopeFromFolderName(folder: string): string {
  const name = folder
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/\.{2,}/g, '.')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, 64)
    .replace(/[._-]+$/, '');
  const scope = `@${name || FALLBACK}`;
  return isRepositoryName(scope) ? scope : `@${FALLBACK}`;
}
