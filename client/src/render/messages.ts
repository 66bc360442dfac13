/**
 * Dotprompt's message model, and the step that turns a rendered string into messages
 * (Dotprompt's toMessages / insertHistory in js/src/parse.ts, same semantics).
 */
export type Role = 'user' | 'model' | 'tool' | 'system';

export interface TextPart { text: string; metadata?: Record<string, unknown> }
export interface MediaPart { media: { url: string; contentType?: string }; metadata?: Record<string, unknown> }
export interface PendingPart { metadata: { pending: true; purpose: string; [key: string]: unknown } }
export interface DataPart { data: Record<string, unknown>; metadata?: Record<string, unknown> }
export interface ToolRequestPart { toolRequest: { name: string; input?: unknown; ref?: string }; metadata?: Record<string, unknown> }
export interface ToolResponsePart { toolResponse: { name: string; output?: unknown; ref?: string }; metadata?: Record<string, unknown> }
export type Part = TextPart | MediaPart | PendingPart | DataPart | ToolRequestPart | ToolResponsePart;

export interface Message {
  role: Role;
  content: Part[];
  metadata?: Record<string, unknown>;
}

export interface Document {
  content: Part[];
  metadata?: Record<string, unknown>;
}

/**
 * The markers that helpers write into the rendered string. Dotprompt uses fixed strings
 * (`<<<dotprompt:role:system>>>`), so a variable whose value contains one creates a role
 * (dotprompt issue #557). Here each environment's markers carry a random nonce that no
 * template variable can know, so only helpers can produce them.
 */
export class MarkerSet {
  readonly role: (role: string) => string;
  readonly history: string;
  readonly media: (url: string, contentType?: string) => string;
  readonly section: (name: string) => string;
  /** Splits on role and history markers; captures the marker body. */
  readonly roleOrHistory: RegExp;
  /** Splits on media and section markers; captures the marker body. */
  readonly mediaOrSection: RegExp;
  /** Matches any marker (to strip them for text output). */
  readonly any: RegExp;
  private readonly open: string;

  constructor(nonce: string) {
    // U+E000/U+E001 are private-use characters, so markers never look like prompt text.
    const open = `\uE000${nonce}:`;
    const close = '\uE001';
    this.open = open;
    this.role = (role) => `${open}role:${role}${close}`;
    this.history = `${open}history${close}`;
    this.media = (url, contentType) => `${open}media:url ${url}${contentType ? ` ${contentType}` : ''}${close}`;
    this.section = (name) => `${open}section ${name}${close}`;
    const o = escapeRegExp(open);
    this.roleOrHistory = new RegExp(`${o}(role:[a-z]+|history)${close}`, 'g');
    this.mediaOrSection = new RegExp(`${o}((?:media:url|section)[^${close}]*)${close}`, 'g');
    this.any = new RegExp(`${o}[^${close}]*${close}`, 'g');
  }

  contains(rendered: string): boolean {
    return rendered.includes(this.open);
  }
}

export interface MessageData {
  messages?: Message[] | undefined;
}

/** Rendered string → messages: role markers start messages, history inserts `data.messages`. */
export function toMessages(rendered: string, markers: MarkerSet, data: MessageData = {}): Message[] {
  interface Source { role: Role; source: string; content?: Part[]; metadata?: Record<string, unknown> }
  let current: Source = { role: 'user', source: '' };
  const sources: Source[] = [current];

  // String.split with a capturing group interleaves text and marker bodies: odd indexes are markers.
  const pieces = rendered.split(markers.roleOrHistory);
  for (let i = 0; i < pieces.length; i++) {
    const piece = pieces[i]!;
    if (i % 2 === 1) {
      if (piece.startsWith('role:')) {
        const role = piece.slice('role:'.length) as Role;
        if (current.source.trim()) {
          current = { role, source: '' };
          sources.push(current);
        } else {
          current.role = role;
        }
      } else {
        for (const m of asHistory(data.messages ?? [])) sources.push({ ...m, source: '' });
        current = { role: 'model', source: '' };
        sources.push(current);
      }
    } else if (piece.trim() !== '') {
      current.source += piece;
    }
  }

  const messages: Message[] = [];
  for (const s of sources) {
    if (!s.content && !s.source) continue;
    const message: Message = { role: s.role, content: s.content ?? toParts(s.source, markers) };
    if (s.metadata) message.metadata = s.metadata;
    messages.push(message);
  }
  return insertHistory(messages, data.messages);
}

function asHistory(messages: Message[]): Message[] {
  return messages.map((m) => ({ ...m, metadata: { ...m.metadata, purpose: 'history' } }));
}

/** History goes before the last user message, or at the end; never twice. */
function insertHistory(messages: Message[], history: Message[] | undefined): Message[] {
  if (!history || messages.some((m) => m.metadata?.['purpose'] === 'history')) return messages;
  if (messages.length === 0) return history;
  const last = messages[messages.length - 1]!;
  if (last.role === 'user') return [...messages.slice(0, -1), ...history, last];
  return [...messages, ...history];
}

function toParts(source: string, markers: MarkerSet): Part[] {
  const parts: Part[] = [];
  const pieces = source.split(markers.mediaOrSection);
  for (let i = 0; i < pieces.length; i++) {
    const piece = pieces[i]!;
    if (i % 2 === 0) {
      if (piece.trim() !== '') parts.push({ text: piece });
    } else if (piece.startsWith('media:url')) {
      const [, url = '', contentType] = piece.split(' ');
      parts.push(contentType ? { media: { url, contentType } } : { media: { url } });
    } else {
      const [, purpose = ''] = piece.split(' ');
      parts.push({ metadata: { purpose, pending: true } });
    }
  }
  return parts;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
