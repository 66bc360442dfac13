import type { ReceiverAck, ReceiverLeave, ReceiverRegistration } from '../schemas/receiver-registration.ts';
import type { Report } from './run-validation.ts';
import type { ValidationResult } from './issues.ts';
import { joinPointer } from './issues.ts';
import { asRecord, entriesOf, fieldAt, stringAt } from './read-data.ts';
import { runValidation } from './run-validation.ts';
import { checkRange, checkVersion } from './semver-checks.ts';

/**
 * Validates a receiver's registration or heartbeat body, as received (untrusted): its shape
 * and bounds, an http(s) push URL in plain form (below) — required with the `push` transport
 * (the default), absent with `stream` — parseable ranges and exact versions.
 * The value returned carries the push URL normalised (WHATWG serialisation): what the forge
 * stores and pushes to.
 */
export function validateReceiverRegistration(input: unknown): ValidationResult<ReceiverRegistration> {
  let normalisedUrl: string | undefined;
  const result = runValidation<ReceiverRegistration>(input, {
    validator: 'receiver-registration',
    // {ranges: {set: range}} is as deep as a registration goes.
    maxDepth: 4,
    check(data, { error }) {
      const url = stringAt(data, 'url');
      const streams = stringAt(data, 'transport') === 'stream';
      if (streams && fieldAt(data, 'url') !== undefined) {
        error('/url', 'receiver-registration.url-with-stream', 'a streaming receiver has no push URL', 'leave `url` out with `transport: "stream"`, or register with the push transport');
      } else if (!streams && fieldAt(data, 'url') === undefined && asRecord(data) !== undefined) {
        error('/url', 'receiver-registration.url-missing', 'a pushed receiver needs a push URL', `send the URL the forge can push to, ${EXAMPLE}, or \`transport: "stream"\``);
      } else if (url !== undefined) normalisedUrl = checkPushUrl(url, error);
      for (const [set, range] of entriesOf(fieldAt(data, 'ranges'))) checkRange(error, joinPointer('/ranges', set), range);
      for (const [set, version] of entriesOf(fieldAt(data, 'versions'))) checkVersion(error, joinPointer('/versions', set), version);
    },
  });
  if (!result.ok || normalisedUrl === undefined || normalisedUrl === result.value.url) return result;
  // A copy: the caller's object is left as it was sent.
  return { ...result, value: { ...result.value, url: normalisedUrl } };
}

/** Validates the body of `DELETE …/receivers`: `{instanceId}`. */
export function validateReceiverLeave(input: unknown): ValidationResult<ReceiverLeave> {
  return runValidation<ReceiverLeave>(input, { validator: 'receiver-leave', maxDepth: 2 });
}

/** Validates the body of `POST …/receivers/ack`: a streaming receiver's answer to an envelope. */
export function validateReceiverAck(input: unknown): ValidationResult<ReceiverAck> {
  return runValidation<ReceiverAck>(input, {
    validator: 'receiver-ack',
    maxDepth: 3,
    check(data, { error }) {
      for (const [set, version] of entriesOf(fieldAt(data, 'versions'))) checkVersion(error, joinPointer('/versions', set), version);
    },
  });
}

const EXAMPLE = 'e.g. "https://app.example.com/anvil"';

/**
 * A push URL must mean one thing to every URL parser, because the forge pushes to it with a
 * bearer token (issue 14). Parsers disagree exactly where attackers hide addresses: spaces and
 * tabs (dropped by WHATWG), backslashes (read as `/`), user info, percent-encoded hosts, and IPv4
 * written as one number, in hex or octal, or shortened (`0xA9FEA9FE`, `127.1`), which WHATWG
 * turns into a dotted quad. Those are refused; what is merely spelled differently (upper case,
 * a default port, IPv6 zero runs, an international name) is normalised. Returns the normalised
 * URL, or undefined after reporting why there is none. Which addresses the forge then pushes to
 * is the forge's decision (server/src/deliver/push-target-rules.ts), made again at every push.
 */
function checkPushUrl(url: string, error: Report): string | undefined {
  const shown = `"${url.slice(0, 200)}"`;
  const fail = (code: string, message: string, hint: string): undefined => {
    error('/url', `receiver-registration.${code}`, message, hint);
    return undefined;
  };
  if (/[\s\u0000-\u001f\u007f-\u009f]/u.test(url)) return fail('url-whitespace', `${shown} contains a space or a control character`, `register the URL without spaces, ${EXAMPLE}`);
  if (url.includes('\\')) return fail('url-backslash', `${shown} contains a backslash`, `use "/" in URLs, ${EXAMPLE}`);
  const parsed = URL.canParse(url) ? new URL(url) : undefined;
  // `http:host` and `http:///host` parse too (WHATWG repairs them): only the plain form is taken.
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || !/^https?:\/\/[^/?#]/i.test(url)) {
    return fail('url', `${shown} is not an http(s) URL`, `register the URL the forge can push to, ${EXAMPLE}`);
  }
  const authority = /^https?:\/\/([^/?#]*)/i.exec(url)?.[1] ?? '';
  if (parsed.username !== '' || parsed.password !== '' || authority.includes('@')) {
    return fail('url-credentials', 'the push URL carries a user name or password', 'pushes authenticate with the access token; drop the credentials from the URL');
  }
  // The host as written: `[v6]`, or everything before the port.
  const host = authority.startsWith('[') ? authority.slice(0, authority.indexOf(']') + 1) : authority.replace(/:[^:]*$/, '');
  if (host.includes('%')) return fail('url-host', `the host of ${shown} is percent-encoded`, 'write the host name or address as it is');
  if (/^\d+\.\d+\.\d+\.\d+$/.test(parsed.hostname) && host !== parsed.hostname) {
    return fail('url-host', `the host "${host.slice(0, 100)}" of ${shown} is read as the IPv4 address ${parsed.hostname}`, `write IPv4 addresses as four decimal numbers: ${parsed.hostname}`);
  }
  if (parsed.port === '0') return fail('url-port', `${shown} has port 0, which nothing can be reached on`, 'register the port the receiver listens on');
  return parsed.href;
}
