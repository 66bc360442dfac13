// Placeholder: filled in by the renderer work (Picoschema → JSON Schema).
export {};
