import type { ReceiverLeave, ReceiverRegistration } from '../schemas/receiver-registration.ts';
import type { ValidationResult } from './issues.ts';
import { joinPointer } from './issues.ts';
import { entriesOf, fieldAt, stringAt } from './read-data.ts';
import { runValidation } from './run-validation.ts';
import { checkRange, checkVersion } from './semver-checks.ts';

/**
 * Validates a receiver's registration or heartbeat body, as received (untrusted): its shape
 * and bounds, an http(s) push URL without credentials, parseable ranges and exact versions.
 */
export function validateReceiverRegistration(input: unknown): ValidationResult<ReceiverRegistration> {
  return runValidation<ReceiverRegistration>(input, {
    validator: 'receiver-registration',
    // {ranges: {set: range}} is as deep as a registration goes.
    maxDepth: 4,
    check(data, { error }) {
      const url = stringAt(data, 'url');
      if (url !== undefined) {
        const parsed = URL.canParse(url) ? new URL(url) : undefined;
        if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
          error('/url', 'receiver-registration.url', `"${url.slice(0, 200)}" is not an http(s) URL`, 'register the URL the forge can push to, e.g. "https://app.example.com/anvil"');
        } else if (parsed.username !== '' || parsed.password !== '') {
          error('/url', 'receiver-registration.url-credentials', 'the push URL carries a user name or password', 'pushes authenticate with the access token; drop the credentials from the URL');
        }
      }
      for (const [set, range] of entriesOf(fieldAt(data, 'ranges'))) checkRange(error, joinPointer('/ranges', set), range);
      for (const [set, version] of entriesOf(fieldAt(data, 'versions'))) checkVersion(error, joinPointer('/versions', set), version);
    },
  });
}

/** Validates the body of `DELETE …/receivers`: `{instanceId}`. */
export function validateReceiverLeave(input: unknown): ValidationResult<ReceiverLeave> {
  return runValidation<ReceiverLeave>(input, { validator: 'receiver-leave', maxDepth: 2 });
}
