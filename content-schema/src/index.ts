export * from './errors.ts';
export * from './picoschema.ts';
