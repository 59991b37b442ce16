/** The TSL module's public surface (architecture.md: domain/tsl). */
export * from './types.ts';
export { RESERVED_IDENTIFIERS, compileThingModel, validateTslDocument } from './document.ts';
export * from './values.ts';
