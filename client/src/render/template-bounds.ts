/**
 * Bounds a template must stay within before Handlebars may parse it. Templates come from pull
 * requests (DESIGN.md §9), and Handlebars' parser is not linear: 20,000 nested `{{#if}}` take it
 * over 30 s (and overflow the stack), 12,000 `{{!-- --}}` comments 4 s (its lexer copies the
 * rest of the template for each one), 1 MB of `{{x}}` tags 20 s to compile. One pass over the
 * text, far cheaper than parsing, counts what makes Handlebars slow, so that no template can
 * stall a forge or a receiver (issue 14). The limits are in LIMITS (content-schema) and in
 * docs/rendering.md.
 *
 * The scan follows Handlebars' lexer only as far as counting needs: tags, comments (whose
 * content does not count), escaped `\{{`, raw blocks, strings inside tags. It may count a little
 * more than the parser would see, never less of what costs time.
 */
import { AnvilError, LIMITS } from '@anvil/content-schema';
import { locate } from '../parse/prompt-source.ts';
import { templateError, type TemplateOrigin } from './template-errors.ts';

export const TEMPLATE_LIMITS = {
  /** Characters (UTF-16 code units) of a template: the size a bundle allows. */
  size: LIMITS.template,
  tags: LIMITS.templateTags,
  blockComments: LIMITS.templateBlockComments,
  depth: LIMITS.templateDepth,
} as const;

/** What the scan found: how deep the template nests, and at most one error of each kind. */
export interface TemplateScan {
  errors: AnvilError[];
  depth: number;
}

/** Checks `template` against TEMPLATE_LIMITS; linear in its length. */
export function scanTemplate(template: string, origin: TemplateOrigin): TemplateScan {
  const errors: AnvilError[] = [];
  const at = (offset: number) => locate(template, offset);
  if (template.length > TEMPLATE_LIMITS.size) {
    errors.push(templateError('template.too-large',
      `the template is ${template.length.toLocaleString('en-US')} characters long; at most ${TEMPLATE_LIMITS.size.toLocaleString('en-US')}`,
      origin, { line: 1, column: 0 }, 'keep large data out of templates: pass it as a variable'));
    return { errors, depth: 0 };
  }

  let tags = 0;
  let blockComments = 0;
  let tooComplex = false;
  let tooDeep = false;
  /** Open blocks; each counts 1 plus one per `{{else x}}` branch chained to it. */
  const blocks: number[] = [];
  let depth = 0;
  let maxDepth = 0;

  const nest = (offset: number, levels: number): void => {
    if (levels > maxDepth) maxDepth = levels;
    if (levels > TEMPLATE_LIMITS.depth && !tooDeep) {
      tooDeep = true;
      errors.push(templateError('template.too-deep',
        `the template nests more than ${TEMPLATE_LIMITS.depth} levels deep here`, origin, at(offset),
        'blocks, {{else if}} branches and sub-expressions each add a level; split the template into partials or flatten the logic'));
    }
  };
  const tooMany = (offset: number, message: string, hint: string): void => {
    if (tooComplex) return;
    tooComplex = true;
    errors.push(templateError('template.too-complex', message, origin, at(offset), hint));
  };

  let i = template.indexOf('{{');
  while (i !== -1) {
    // `\{{` is escaped text; `\\{{` is a backslash and then a real tag (Handlebars' lexer).
    if (i > 0 && template.charCodeAt(i - 1) === 0x5c && (i < 2 || template.charCodeAt(i - 2) !== 0x5c)) {
      i = template.indexOf('{{', i + 2);
      continue;
    }
    tags++;
    if (tags > TEMPLATE_LIMITS.tags) {
      tooMany(i, `the template has more than ${TEMPLATE_LIMITS.tags.toLocaleString('en-US')} tags ({{…}})`,
        'split it into partials, or pass large repeated content as a variable and loop over it with {{#each}}');
    }

    if (template.startsWith('{{{{', i)) {
      // A raw block: its content is text up to {{{{/name}}}}.
      const open = template.indexOf('}}}}', i + 4);
      if (open === -1) break;
      const close = template.indexOf('{{{{/', open + 4);
      if (close === -1) break;
      const end = template.indexOf('}}}}', close + 5);
      if (end === -1) break;
      i = template.indexOf('{{', end + 4);
      continue;
    }

    let j = i + 2;
    if (template.charCodeAt(j) === 0x7e /* ~ */) j++;
    const sigil = template[j];

    if (sigil === '!') {
      if (template.startsWith('--', j + 1)) {
        blockComments++;
        if (blockComments > TEMPLATE_LIMITS.blockComments) {
          tooMany(i, `the template has more than ${TEMPLATE_LIMITS.blockComments} {{!-- --}} comments`,
            'write short comments as {{! … }} (they cost nothing), or remove some');
        }
        // The lexer ends the comment at the first "--}}" after "{{" (so "{{!--}}" is closed).
        const end = /--~?\}\}/g;
        end.lastIndex = i + 2;
        const m = end.exec(template);
        if (!m) {
          errors.push(templateError('template.syntax', 'a {{!-- comment is never closed', origin, at(i), 'close the comment with --}}'));
          break;
        }
        i = template.indexOf('{{', m.index + m[0].length);
      } else {
        const end = template.indexOf('}}', j + 1);
        if (end === -1) break;
        i = template.indexOf('{{', end + 2);
      }
      continue;
    }

    if (sigil === '#') {
      blocks.push(1);
      nest(i, ++depth);
    } else if (sigil === '^') {
      // `{{^}}` is {{else}}; `{{^name}}` opens an inverted block.
      if (!/^\s*~?\}\}/.test(template.slice(j + 1, j + 8))) {
        blocks.push(1);
        nest(i, ++depth);
      }
    } else if (sigil === '/') {
      depth -= blocks.pop() ?? 0;
    } else if (sigil !== undefined && /\s|e/.test(sigil)) {
      // `{{else name …}}` chains a block into the open one's inverse: one level more.
      const chained = /^\s*else(?=[\s~}])\s*(~?\}\}|)/.exec(template.slice(j, j + 32));
      if (chained && chained[1] === '' && blocks.length > 0) {
        blocks[blocks.length - 1]!++;
        nest(i, ++depth);
      }
    }

    // To the end of the tag, counting sub-expression nesting; strings and [segments] can
    // hold any character, "}}" and parentheses included.
    let k = j;
    let parens = 0;
    let closed = -1;
    for (; k < template.length; k++) {
      const c = template.charCodeAt(k);
      if (c === 0x22 || c === 0x27) {
        k = skipQuoted(template, k, c);
      } else if (c === 0x5b /* [ */) {
        const end = template.indexOf(']', k + 1);
        if (end === -1) break;
        k = end;
      } else if (c === 0x28 /* ( */) {
        nest(k, depth + ++parens);
      } else if (c === 0x29 /* ) */) {
        if (parens > 0) parens--;
      } else if (c === 0x7d /* } */ && template.charCodeAt(k + 1) === 0x7d) {
        closed = k + 2;
        break;
      }
    }
    if (closed === -1) break; // an unclosed tag: the parser reports it, cheaply
    i = template.indexOf('{{', closed);
  }
  return { errors, depth: maxDepth };
}

/** The index of the quote that closes the string opened at `start` (`\"` does not close it). */
function skipQuoted(text: string, start: number, quote: number): number {
  for (let k = start + 1; k < text.length; k++) {
    const c = text.charCodeAt(k);
    if (c === 0x5c && text.charCodeAt(k + 1) === quote) k++;
    else if (c === quote) return k;
  }
  return text.length;
}
