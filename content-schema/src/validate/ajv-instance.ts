/**
 * The Ajv instances, created on first use: from source, each schema is compiled when it is first
 * needed; a built package has them compiled ahead of time (validators.ts).
 */
import { Ajv2020, type AnySchemaObject, type ValidateFunction } from 'ajv/dist/2020.js';
import type { AjvFlavour } from './validators.ts';

const instances = new Map<AjvFlavour, Ajv2020>();

/** An Ajv for `flavour` schemas; the build adds `code` options to write standalone code. */
export function createAjv(flavour: AjvFlavour, extra: { code?: { source: true } } = {}): Ajv2020 {
  const ajv = new Ajv2020({
    allErrors: true,
    // parentSchema and data on each error: the messages quote the value and use
    // `patternErrorMessage` and field descriptions from the schema.
    verbose: true,
    strict: true,
    allowUnionTypes: true,
    useDefaults: flavour === 'authored',
    // Our own schemas, checked against the 2020-12 meta-schema by the tests (schemas.test.ts):
    // checking them again here would compile the meta-schema first (~50 ms).
    validateSchema: false,
    ...extra,
  });
  // Read by editors (VS Code's JSON/YAML servers) and by our messages; no validation.
  ajv.addVocabulary(['patternErrorMessage']);
  return ajv;
}

function instance(flavour: AjvFlavour): Ajv2020 {
  let ajv = instances.get(flavour);
  if (!ajv) {
    ajv = createAjv(flavour);
    instances.set(flavour, ajv);
  }
  return ajv;
}

/** Compiles `schema` in `flavour` (validators.ts keeps each one, or takes the build's). */
export function compileValidator(schema: AnySchemaObject, flavour: AjvFlavour): ValidateFunction {
  return instance(flavour).compile(schema);
}
