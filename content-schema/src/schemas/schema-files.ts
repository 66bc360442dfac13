/**
 * Every published schema and the file it is written to under `content-schema/schemas/`. The
 * files are generated from the TypeBox sources (`npm run schemas`) and committed, so editors
 * (yaml-language-server) can point at them; a test keeps them in step.
 */
import type { TSchema } from '@sinclair/typebox';
import { ArchiveSchema } from './archive.ts';
import { BundleSchema } from './bundle.ts';
import { EnvelopeSchema } from './envelope.ts';
import { ForgeConfigSchema } from './forge-config.ts';
import { FrontMatterSchema } from './front-matter.ts';
import { LiveConfigSchema } from './live-config.ts';
import { LockFileSchema } from './lock-file.ts';
import { PromptMetadataSchema } from './prompt-metadata.ts';
import { ReceiverRegistrationSchema } from './receiver-registration.ts';
import { ReceiverStateSchema } from './receiver-state.ts';
import { RepoConfigSchema } from './repo-config.ts';
import { SetConfigSchema } from './set-config.ts';
import { TypesManifestSchema } from './types-manifest.ts';

/** The published schemas, in file-name order. */
export const PUBLISHED_SCHEMAS: readonly TSchema[] = [
  RepoConfigSchema,
  ArchiveSchema,
  BundleSchema,
  EnvelopeSchema,
  ForgeConfigSchema,
  LiveConfigSchema,
  LockFileSchema,
  PromptMetadataSchema,
  FrontMatterSchema,
  ReceiverRegistrationSchema,
  ReceiverStateSchema,
  SetConfigSchema,
  TypesManifestSchema,
];

// Header keywords first, so a person opening the file sees what it is before its body, and
// shared definitions last.
const HEAD = ['$schema', '$id', 'title', 'description'];
const TAIL = ['$defs'];

/** File name → file text (pretty JSON, trailing newline) for every published schema. */
export function renderSchemaFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const schema of PUBLISHED_SCHEMAS) {
    const id = String(schema.$id);
    const file = id.slice(id.lastIndexOf('/') + 1);
    const ordered: Record<string, unknown> = {};
    for (const key of HEAD) if (key in schema) ordered[key] = schema[key];
    for (const [key, value] of Object.entries(schema)) {
      if (!HEAD.includes(key) && !TAIL.includes(key)) ordered[key] = value;
    }
    for (const key of TAIL) if (key in schema) ordered[key] = schema[key];
    files.set(file, `${JSON.stringify(ordered, null, 2)}\n`);
  }
  return files;
}
