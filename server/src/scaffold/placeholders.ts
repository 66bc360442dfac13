/**
 * Template placeholders: `__ANVIL_NAME__`, replaced by plain string substitution. Not
 * Handlebars, because the prompt templates being copied are Handlebars themselves and must
 * arrive verbatim; nothing in a prompt, YAML or JSON file looks like `__ANVIL_X__` by accident.
 */
const PLACEHOLDER = /__ANVIL_([A-Z0-9]+(?:_[A-Z0-9]+)*)__/g;

/** `text` with every `__ANVIL_KEY__` replaced by `values.KEY`; a placeholder without a value is a bug. */
export function fillPlaceholders(text: string, values: Readonly<Record<string, string>>): string {
  return text.replace(PLACEHOLDER, (whole, key: string) => {
    const value = values[key];
    if (value === undefined) throw new Error(`template placeholder ${whole} has no value`);
    return value;
  });
}

/** The keys of the placeholders in `text`, for checking templates against the code that fills them. */
export function placeholderKeys(text: string): string[] {
  return [...new Set([...text.matchAll(PLACEHOLDER)].map((m) => m[1] ?? ''))];
}
