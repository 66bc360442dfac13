/**
 * A rendered prompt as a person reads it: the text, or for a prompt with roles one block per
 * message headed by its role. Used by `anvil render --messages` and both sides of a diff.
 */
import type { CompiledPrompt, Message } from '@anvil/client';

export function formatMessages(messages: readonly Message[]): string {
  return messages.map((m) => `[${m.role}]\n${m.content.map(formatPart).join('').replace(/^\n+/, '').trimEnd()}`).join('\n\n');
}

/** Text for a prompt without roles; role-headed blocks for one with them. */
export function renderForReview(prompt: CompiledPrompt, vars: Record<string, unknown>): string {
  return prompt.usesMessageHelpers ? formatMessages(prompt.renderMessages(vars)) : prompt.renderText(vars);
}

function formatPart(part: Message['content'][number]): string {
  if ('text' in part) return part.text;
  if ('media' in part) return `[media ${part.media.url}${part.media.contentType ? ` (${part.media.contentType})` : ''}]`;
  if ('toolRequest' in part) return `[tool request ${part.toolRequest.name}]`;
  if ('toolResponse' in part) return `[tool response ${part.toolResponse.name}]`;
  if ('data' in part) return `[data ${JSON.stringify(part.data)}]`;
  return `[${part.metadata.purpose}]`;
}
