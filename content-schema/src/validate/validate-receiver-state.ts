import type { ReceiverState } from '../schemas/receiver-state.ts';
import type { ValidationResult } from './issues.ts';
import { joinPointer } from './issues.ts';
import { entriesOf, fieldAt, stringAt } from './read-data.ts';
import { runValidation, type Report } from './run-validation.ts';
import { checkVersion } from './semver-checks.ts';

/**
 * Validates a parsed receiver `state.json`: its shape, and that it is closed: every version
 * served or rolled out names a kept bundle of that set and version, and every kept signature
 * is over that bundle's integrity. The bundle files and the signatures themselves are checked
 * by the disk cache, which has them.
 */
export function validateReceiverState(input: unknown): ValidationResult<ReceiverState> {
  return runValidation<ReceiverState>(input, {
    validator: 'receiver-state',
    check(data, { error }) {
      const forge = stringAt(data, 'forge');
      if (forge !== undefined && !isHttpUrl(forge)) {
        error('/forge', 'receiver-state.forge-url', `"${forge}" is not an http(s) URL`, 'run `anvil-live connect <forge URL>` again');
      }
      const bundles = fieldAt(data, 'bundles');
      for (const [set, served] of entriesOf(fieldAt(data, 'sets'))) {
        const base = joinPointer('/sets', set);
        checkServed(error, bundles, base, set, served);
        const rollout = fieldAt(served, 'rollout');
        if (rollout !== undefined) checkServed(error, bundles, `${base}/rollout`, set, rollout);
      }
      for (const [integrity, kept] of entriesOf(bundles)) {
        const signatures = fieldAt(kept, 'signatures');
        if (!Array.isArray(signatures)) continue;
        (signatures as unknown[]).forEach((signature, i) => {
          const signed = stringAt(signature, 'integrity');
          if (signed !== undefined && signed !== integrity) {
            error(
              joinPointer('/bundles', integrity, 'signatures', i, 'integrity'),
              'receiver-state.signature-mismatch',
              `a signature over ${signed} is kept for bundle ${integrity}`,
            );
          }
        });
      }
    },
  });
}

function checkServed(error: Report, bundles: unknown, base: string, set: string, served: unknown): void {
  const version = fieldAt(served, 'version');
  checkVersion(error, `${base}/version`, version);
  const integrity = stringAt(served, 'integrity');
  if (integrity === undefined) return;
  const kept = fieldAt(bundles, integrity);
  if (kept === undefined) {
    error(`${base}/integrity`, 'receiver-state.missing-bundle', `${set}@${String(version)} names bundle ${integrity}, which the state does not keep`);
    return;
  }
  const keptSet = stringAt(kept, 'set');
  const keptVersion = stringAt(kept, 'version');
  if ((keptSet !== undefined && keptSet !== set) || (keptVersion !== undefined && typeof version === 'string' && keptVersion !== version)) {
    error(
      `${base}/integrity`,
      'receiver-state.bundle-mismatch',
      `${set}@${String(version)} names bundle ${integrity}, which is kept as ${keptSet ?? '?'}@${keptVersion ?? '?'}`,
    );
  }
}

function isHttpUrl(text: string): boolean {
  if (!URL.canParse(text)) return false;
  const { protocol } = new URL(text);
  return protocol === 'https:' || protocol === 'http:';
}
