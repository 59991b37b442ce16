/** Builders shared by the TSL unit tests; the fixtures are test/fixtures/*.json (test/helpers/tsl-fixtures.ts). */
import { compileThingModel, validateTslDocument } from '../../../src/domain/tsl/document.ts';
import type { ThingModel, TslDocument } from '../../../src/domain/tsl/types.ts';

export { loadTsl as loadFixture } from '../../helpers/tsl-fixtures.ts';

export const intType = (min = '0', max = '100', step = '1') => ({ type: 'int', specs: { min, max, step } });

export const prop = (identifier: string, dataType: unknown = intType(), accessMode = 'rw') => ({
  identifier,
  name: identifier,
  accessMode,
  required: false,
  dataType,
});

export const param = (identifier: string, dataType: unknown = intType()) => ({
  identifier,
  name: identifier,
  dataType,
});

export const event = (identifier: string, outputData: unknown[] = [], type = 'info') => ({
  identifier,
  name: identifier,
  type,
  required: false,
  outputData,
});

export const service = (
  identifier: string,
  inputData: unknown[] = [],
  outputData: unknown[] = [],
  callType = 'async',
) => ({
  identifier,
  name: identifier,
  callType,
  required: false,
  inputData,
  outputData,
});

/** Validates a document that the test expects to be valid, failing loudly with its issues otherwise. */
export function validDoc(input: unknown): TslDocument {
  const r = validateTslDocument(input);
  if (!r.ok) throw new Error(`expected a valid TSL, got ${JSON.stringify(r.error)}`);
  return r.value;
}

export const modelOf = (input: unknown, moduleId?: string): ThingModel => compileThingModel(validDoc(input), moduleId);
