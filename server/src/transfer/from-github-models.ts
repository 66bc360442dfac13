/**
 * GitHub Models prompt files (`*.prompt.yml`, as `gh models run` / `gh models eval` and the
 * GitHub Models UI read them) as one incoming set of Anvil prompts (pure).
 *
 * The format (github/gh-models, pkg/prompt/prompt.go): `name`, `description`, `model`,
 * `modelParameters` (`maxTokens`, `temperature`, `topP`), `responseFormat` (`text`,
 * `json_object`, `json_schema`) with `jsonSchema` (a JSON string with `name` and `schema`),
 * `messages` (`role` system|user|assistant, `content` with `{{var}}` placeholders), `testData`
 * and `evaluators`. Each file becomes `<name>.md`:
 *
 * | GitHub Models | Anvil front matter / body |
 * |---|---|
 * | `name`, `description` | `name`, `description` |
 * | `model` | `model` |
 * | `modelParameters` | `config` (`maxTokens` → `maxOutputTokens`, as Dotprompt names it) |
 * | `responseFormat`, `jsonSchema` | `output: {format: json, schema}` |
 * | `messages` | the body, one `{{role "…"}}` per message (`assistant` → `model`) |
 * | `{{var}}` | `{{var}}`, declared in `input.schema` (type from `testData` when it is consistent) |
 *
 * GitHub Models substitutes `{{var}}` and nothing else, so any other `{{` in a message is
 * escaped (`\{{`) to stay text. `testData` and `evaluators` have no place in a prompt: each file
 * that has them gets a warning saying they were not carried over.
 */
import { isMap, LineCounter, parseDocument, stringify } from 'yaml';
import { KNOWN_HELPERS } from '@anvil/client';
import { positionOf } from '../load/read-yaml-config.ts';
import { SET_CONFIG_FILE } from '../load/load-repo.ts';
import { problem, type Problem } from '../lint/problem.ts';
import { convertedSetConfig, type ConvertOptions, type Converted, type Origin } from './incoming.ts';

export const GITHUB_MODELS_EXTENSIONS: readonly string[] = ['.prompt.yml', '.prompt.yaml'];

const KNOWN_FIELDS = new Set(['name', 'description', 'model', 'modelParameters', 'responseFormat', 'jsonSchema', 'messages', 'testData', 'evaluators']);
const PARAMETERS: Record<string, string> = { maxTokens: 'maxOutputTokens', temperature: 'temperature', topP: 'topP' };
const ROLES: Record<string, string> = { system: 'system', user: 'user', assistant: 'model' };
/** Names a bare `{{name}}` would call as a helper instead of reading the variable. */
const NOT_BARE = new Set([...KNOWN_HELPERS, 'else', 'this']);
const PLACEHOLDER = /^\{\{([A-Za-z_][A-Za-z0-9_-]*)\}\}/;

export function fromGithubModels(sources: Readonly<Record<string, string>>, options: ConvertOptions): Converted {
  const problems: Problem[] = [];
  const files: Record<string, string> = {};
  const origin: Record<string, Origin> = {};
  const idsFrom = new Map<string, string>();

  for (const rel of Object.keys(sources).sort()) {
    const file = options.sourceFile(rel);
    const ext = GITHUB_MODELS_EXTENSIONS.find((e) => rel.endsWith(e));
    if (!ext) {
      problems.push(problem('warning', 'import.not-carried', `${file} is not a GitHub Models prompt file (.prompt.yml); it is not imported`, { file }));
      continue;
    }
    const target = `${promptPath(rel.slice(0, -ext.length))}.md`;
    const clash = idsFrom.get(target);
    if (clash !== undefined) {
      problems.push(problem('error', 'import.duplicate-id', `${rel} and ${clash} both become ${target}`, { file, line: 1, column: 1, hint: 'rename one of them' }));
      continue;
    }
    idsFrom.set(target, rel);
    const converted = convertFile(sources[rel]!, file);
    problems.push(...converted.problems);
    if (converted.text === undefined) continue;
    files[target] = converted.text;
    origin[target] = { file, sameText: false };
  }
  if (Object.keys(files).length === 0 && !problems.some((p) => p.severity === 'error')) {
    problems.push(problem('error', 'import.empty', `${options.sourceLabel} holds no GitHub Models prompt file (.prompt.yml)`, {
      file: options.sourceLabel, hint: 'give a folder of .prompt.yml files, or a single .prompt.yml file',
    }));
  }
  if (problems.some((p) => p.severity === 'error')) return { problems };

  files[SET_CONFIG_FILE] = convertedSetConfig(`Imported from the GitHub Models prompt files in ${options.sourceLabel}.`);
  origin[SET_CONFIG_FILE] = { file: options.sourceLabel, sameText: false };
  const count = Object.keys(files).length - 1;
  return {
    incoming: {
      format: 'github-models',
      label: `${count} GitHub Models prompt file${count === 1 ? '' : 's'} from ${options.sourceLabel} into set ${options.set}`,
      sets: [{ name: options.set, files, origin, configOnlyIfNew: true }],
      warnings: problems,
    },
    problems,
  };
}

/** `Text Summarizer/v2` → `text_summarizer/v2`-like: each segment a valid id segment. */
function promptPath(stem: string): string {
  return stem.split('/').map((segment) => {
    const cleaned = segment.replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-+/, '').replace(/-+$/, '');
    return cleaned === '' ? '_' : cleaned;
  }).join('/');
}

interface FileResult {
  text?: string;
  problems: Problem[];
}

function convertFile(source: string, file: string): FileResult {
  const problems: Problem[] = [];
  const lineCounter = new LineCounter();
  const doc = parseDocument(source, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      problems: doc.errors.map((e) => problem('error', 'yaml.syntax', e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, ''), {
        file, line: e.linePos?.[0].line, column: e.linePos?.[0].col,
        hint: 'check indentation, and quote values that contain ": " or start with a special character',
      })),
    };
  }
  const at = (pointer: string) => {
    const pos = positionOf(doc, pointer, lineCounter);
    return { file, line: pos?.line, column: pos?.col };
  };
  const error = (pointer: string, message: string, hint: string) => problems.push(problem('error', 'import.github-models', message, { ...at(pointer), hint }));
  const notCarried = (pointer: string, message: string, hint?: string) => problems.push(problem('warning', 'import.not-carried', message, { ...at(pointer), hint }));

  let data: Record<string, unknown>;
  try {
    const value = doc.toJS({ maxAliasCount: 100 }) as unknown;
    if (!isMap(doc.contents) || typeof value !== 'object' || value === null) {
      error('', 'a GitHub Models prompt file is a YAML mapping with `messages`', 'see https://docs.github.com/github-models (prompt files)');
      return { problems };
    }
    data = value as Record<string, unknown>;
  } catch (err) {
    error('', `cannot read the file: ${(err as Error).message}`, 'avoid YAML anchors and aliases');
    return { problems };
  }

  const frontMatter: Record<string, unknown> = {};
  for (const key of Object.keys(data)) {
    if (!KNOWN_FIELDS.has(key)) notCarried(`/${key}`, `"${key}" is not a GitHub Models prompt field; it is not carried over`);
  }
  for (const field of ['name', 'description', 'model'] as const) {
    const value = data[field];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string') error(`/${field}`, `"${field}" must be a string`, `e.g. ${field}: ${field === 'model' ? 'openai/gpt-4o-mini' : 'Summarise a ticket'}`);
    else frontMatter[field] = value;
  }

  const params = data['modelParameters'];
  if (params !== undefined && params !== null) {
    if (typeof params !== 'object' || Array.isArray(params)) {
      error('/modelParameters', '"modelParameters" must be a mapping', 'e.g. modelParameters: {temperature: 0.2, maxTokens: 500}');
    } else {
      const config: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(params as Record<string, unknown>)) {
        const mapped = PARAMETERS[key];
        if (mapped === undefined) {
          notCarried(`/modelParameters/${key}`, `model parameter "${key}" is not one GitHub Models defines; it is copied to config as is`, 'check that your model provider reads it under that name');
        }
        config[mapped ?? key] = value;
      }
      if (Object.keys(config).length > 0) frontMatter['config'] = config;
    }
  }

  const messages = data['messages'];
  const variables: string[] = [];
  const body: string[] = [];
  if (!Array.isArray(messages) || messages.length === 0) {
    error(messages === undefined ? '' : '/messages', '"messages" must be a list of {role, content}', 'e.g. messages: [{role: user, content: "Summarize {{input}}"}]');
  } else {
    messages.forEach((message: unknown, i: number) => {
      const pointer = `/messages/${i}`;
      const m = (typeof message === 'object' && message !== null ? message : {}) as Record<string, unknown>;
      const role = typeof m['role'] === 'string' ? ROLES[m['role'].toLowerCase()] : undefined;
      if (role === undefined) {
        error(`${pointer}${m['role'] === undefined ? '' : '/role'}`, `message ${i + 1}: role must be system, user or assistant`, 'e.g. role: user');
      }
      if (typeof m['content'] !== 'string') {
        error(`${pointer}${m['content'] === undefined ? '' : '/content'}`, `message ${i + 1}: content must be text`, 'e.g. content: "Summarize {{input}}"');
      }
      if (role === undefined || typeof m['content'] !== 'string') return;
      for (const key of Object.keys(m)) {
        if (key !== 'role' && key !== 'content') notCarried(`${pointer}/${key}`, `message ${i + 1}: "${key}" is not carried over`);
      }
      body.push(`{{role "${role}"}}${convertContent(m['content'], variables)}`);
    });
  }

  const format = data['responseFormat'];
  if (format !== undefined && format !== null && format !== 'text') {
    if (format === 'json_object') {
      frontMatter['output'] = { format: 'json' };
    } else if (format === 'json_schema') {
      const schema = readJsonSchema(data['jsonSchema']);
      if (typeof schema === 'string') error(data['jsonSchema'] === undefined ? '/responseFormat' : '/jsonSchema', schema, 'jsonSchema is a JSON string: {"name": "…", "schema": {…}}');
      else frontMatter['output'] = { format: 'json', schema };
    } else {
      error('/responseFormat', `responseFormat must be text, json_object or json_schema, not ${JSON.stringify(format)}`, 'e.g. responseFormat: json_object');
    }
  } else if (data['jsonSchema'] !== undefined) {
    notCarried('/jsonSchema', 'jsonSchema is used only with responseFormat: json_schema; it is not carried over');
  }

  const testData = data['testData'];
  if (Array.isArray(testData) && testData.length > 0) {
    notCarried('/testData', `testData (${testData.length} case${testData.length === 1 ? '' : 's'}) is not carried over: an Anvil prompt holds no test cases`, 'keep this .prompt.yml to run `gh models eval` on it; the variables\' types were taken from it');
  }
  const evaluators = data['evaluators'];
  if (Array.isArray(evaluators) && evaluators.length > 0) {
    const names = evaluators.map((e: unknown) => (typeof e === 'object' && e !== null && typeof (e as Record<string, unknown>)['name'] === 'string' ? (e as Record<string, string>)['name'] : '?'));
    notCarried('/evaluators', `evaluators are not carried over: ${names.join(', ')}`, 'Anvil does not run evaluations; keep this .prompt.yml to run `gh models eval` on it');
  }

  if (problems.some((p) => p.severity === 'error')) return { problems };
  if (variables.length > 0) {
    frontMatter['input'] = { schema: Object.fromEntries(variables.map((name) => [name, typeOf(name, testData)])) };
  }
  const text = `---\n${stringify(frontMatter, { lineWidth: 0 })}---\n${body.join('\n')}\n`;
  return { text, problems };
}

/**
 * A message's content as a Handlebars body: each `{{name}}` placeholder stays a variable (read
 * as `{{this.name}}` when a helper has that name), every other `{{` is escaped to stay text.
 */
export function convertContent(content: string, variables: string[]): string {
  let out = '';
  let i = 0;
  for (let at = content.indexOf('{{'); at !== -1; at = content.indexOf('{{', i)) {
    out += content.slice(i, at);
    const match = PLACEHOLDER.exec(content.slice(at));
    if (match) {
      const name = match[1]!;
      if (!variables.includes(name)) variables.push(name);
      out += NOT_BARE.has(name) ? `{{this.${name}}}` : `{{${name}}}`;
      i = at + match[0].length;
    } else {
      out += '\\{{';
      i = at + 2;
    }
  }
  return out + content.slice(i);
}

function readJsonSchema(value: unknown): Record<string, unknown> | string {
  if (value === undefined || value === null) return 'responseFormat json_schema needs jsonSchema';
  let parsed: unknown = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value);
    } catch (err) {
      return `jsonSchema is not valid JSON: ${(err as Error).message}`;
    }
  }
  const schema = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>)['schema'] : undefined;
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) return 'jsonSchema must have a "schema" object';
  return schema as Record<string, unknown>;
}

/** Picoschema type of a variable: what every test case gives it, else string (GitHub Models substitutes text). */
function typeOf(name: string, testData: unknown): string {
  const values = (Array.isArray(testData) ? testData : [])
    .map((row: unknown) => (typeof row === 'object' && row !== null ? (row as Record<string, unknown>)[name] : undefined))
    .filter((v) => v !== undefined && v !== null);
  if (values.length > 0 && values.every((v) => typeof v === 'number')) return values.every((v) => Number.isInteger(v)) ? 'integer' : 'number';
  if (values.length > 0 && values.every((v) => typeof v === 'boolean')) return 'boolean';
  return 'string';
}

