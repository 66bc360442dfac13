/**
 * The Ajv instances, created and compiled on first use: compiling every schema costs tens of
 * milliseconds, which an app that only renders should not pay at start-up.
 */
import { Ajv2020, type AnySchemaObject, type ValidateFunction } from 'ajv/dist/2020.js';

/**
 * Two flavours. Authored files (`set.yaml`, `anvil.yaml`, front matter) get their defaults
 * filled in (`useDefaults`), on a copy. Transport formats (bundle, envelope, lock file) are
 * never defaulted: what was hashed and signed is exactly what is checked, and a 10 MB bundle
 * is validated in place instead of being copied.
 */
export type AjvFlavour = 'authored' | 'transport';

const instances = new Map<AjvFlavour, Ajv2020>();
const compiled: Record<AjvFlavour, WeakMap<object, ValidateFunction>> = {
  authored: new WeakMap(),
  transport: new WeakMap(),
};

function instance(flavour: AjvFlavour): Ajv2020 {
  let ajv = instances.get(flavour);
  if (!ajv) {
    ajv = new Ajv2020({
      allErrors: true,
      // parentSchema and data on each error: the messages quote the value and use
      // `patternErrorMessage` and field descriptions from the schema.
      verbose: true,
      strict: true,
      allowUnionTypes: true,
      useDefaults: flavour === 'authored',
      // Our own schemas, checked against the 2020-12 meta-schema by the tests (schemas.test.ts):
      // checking them again here would compile the meta-schema first, at every start (~50 ms).
      validateSchema: false,
    });
    // Read by editors (VS Code's JSON/YAML servers) and by our messages; no validation.
    ajv.addVocabulary(['patternErrorMessage']);
    instances.set(flavour, ajv);
  }
  return ajv;
}

/** The compiled validator for `schema` (compiled once per flavour, on first use). */
export function compiledValidator(schema: AnySchemaObject, flavour: AjvFlavour): ValidateFunction {
  const cache = compiled[flavour];
  let validate = cache.get(schema);
  if (!validate) {
    validate = instance(flavour).compile(schema);
    cache.set(schema, validate);
  }
  return validate;
}
