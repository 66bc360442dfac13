import type { Envelope } from '../schemas/envelope.ts';
import type { ValidationResult } from './issues.ts';
import { joinPointer } from './issues.ts';
import { entriesOf, fieldAt, stringAt } from './read-data.ts';
import { runValidation } from './run-validation.ts';
import { checkVersion } from './semver-checks.ts';
import { checkBundle, type BundleValidationOptions } from './validate-bundle.ts';
import { isEnvelopeBundlePrompts } from './deferred-prompts.ts';

/**
 * Validates an envelope: its shape, each bundle (as `validateBundle` does), and that the
 * parts agree: bundles belong to the envelope's project, every bundle is signed, every
 * dependency and rollout version is carried. Signatures themselves are not verified here
 * (that needs the forge's key); integrity neither (see `verifyBundleIntegrity`). With
 * `deferPrompts`, prompt entries are left to `validateBundlePrompt`, as in `validateBundle`.
 */
export function validateEnvelope(input: unknown, options: BundleValidationOptions = {}): ValidationResult<Envelope> {
  const deferred = options.deferPrompts === true;
  return runValidation<Envelope>(input, {
    validator: deferred ? 'envelope-outline' : 'envelope',
    ...(deferred ? { opaque: isEnvelopeBundlePrompts } : {}),
    check(data, context) {
      const { error, warning } = context;
      const project = stringAt(data, 'project');
      const bundles = fieldAt(data, 'bundles');
      const list = Array.isArray(bundles) ? (bundles as unknown[]) : [];

      const carried = new Set<string>();
      const integrityOfVersion = new Map<string, string>();
      list.forEach((bundle, i) => {
        const set = stringAt(bundle, 'set');
        const version = stringAt(bundle, 'version');
        const integrity = stringAt(bundle, 'integrity');
        if (set === undefined || version === undefined) return;
        const key = `${set}@${version}`;
        carried.add(key);
        const seen = integrityOfVersion.get(key);
        if (seen !== undefined && integrity !== undefined && seen !== integrity) {
          error(`/bundles/${i}`, 'envelope.conflicting-bundles', `two different bundles claim to be ${key}`);
        }
        if (integrity !== undefined && seen === undefined) integrityOfVersion.set(key, integrity);
      });

      const signed = new Set<string>();
      const signatures = fieldAt(data, 'signatures');
      if (Array.isArray(signatures)) for (const s of signatures as unknown[]) {
        const integrity = stringAt(s, 'integrity');
        if (integrity !== undefined) signed.add(integrity);
      }
      const integrities = new Set<string>();

      list.forEach((bundle, i) => {
        const base = `/bundles/${i}`;
        checkBundle(bundle, base, context);
        const bundleProject = stringAt(bundle, 'project');
        if (project !== undefined && bundleProject !== undefined && bundleProject !== project) {
          error(`${base}/project`, 'envelope.project-mismatch', `bundle of project "${bundleProject}" in an envelope for "${project}"`);
        }
        const integrity = stringAt(bundle, 'integrity');
        if (integrity !== undefined) {
          integrities.add(integrity);
          if (!signed.has(integrity)) {
            error(`${base}/integrity`, 'envelope.unsigned-bundle', `bundle ${describe(bundle)} has no signature`);
          }
        }
        for (const [dependency, version] of entriesOf(fieldAt(bundle, 'dependencies'))) {
          if (typeof version === 'string' && !carried.has(`${dependency}@${version}`)) {
            error(
              joinPointer(`${base}/dependencies`, dependency),
              'envelope.missing-dependency',
              `bundle ${describe(bundle)} needs ${dependency}@${version}, which the envelope does not carry`,
            );
          }
        }
      });

      if (Array.isArray(signatures)) (signatures as unknown[]).forEach((s, j) => {
        const integrity = stringAt(s, 'integrity');
        if (integrity !== undefined && !integrities.has(integrity)) {
          warning(`/signatures/${j}`, 'envelope.stray-signature', `signature for ${integrity}, which no bundle of the envelope has`);
        }
      });

      for (const [set, rollout] of entriesOf(fieldAt(data, 'rollouts'))) {
        const path = joinPointer('/rollouts', set, 'version');
        const version = fieldAt(rollout, 'version');
        checkVersion(error, path, version);
        if (typeof version === 'string' && !carried.has(`${set}@${version}`)) {
          error(path, 'envelope.rollout-without-bundle', `rollout of ${set}@${version}, but the envelope carries no such bundle`);
        }
      }
    },
  });
}

function describe(bundle: unknown): string {
  return `${stringAt(bundle, 'set') ?? '?'}@${stringAt(bundle, 'version') ?? '?'}`;
}
