/**
 * Validation and normalisation of one TSL `dataType` (alink-protocol.md §4.2). Every issue is collected, none
 * stops the walk, so a user fixing a document sees all of its problems at once (architecture.md habit 7).
 */
import type {
  ArrayItemType,
  BoolSpecs,
  DataType,
  EnumSpecs,
  NumberSpecs,
  ScalarDataType,
  StructMember,
  TextSpecs,
  TslIssue,
  TslParam,
} from './types.ts';
import { addIssue, checkIdentifier, checkName, isInt32, isNumericString, isPlainObject, TSL_LIMITS } from './shared.ts';

/**
 * Where a data type sits decides what it may be: a struct member holds one of the seven scalar types (§4.2: "struct
 * can include the preceding seven types"), an array item is int/float/double/text/struct with optional specs.
 */
export type DataTypePlace = 'feature' | 'member' | 'item';

const ALL_TYPES = ['int', 'float', 'double', 'text', 'date', 'bool', 'enum', 'struct', 'array'];
const ITEM_TYPES = ['int', 'float', 'double', 'text', 'struct'];
const MEMBER_TYPES = ['int', 'float', 'double', 'text', 'date', 'bool', 'enum'];

/** Whether `v` is an object; when it is not, the issue `message` at `path` says what it must be. */
function objectOrIssue(v: unknown, path: string[], issues: TslIssue[], message: string): v is Record<string, unknown> {
  if (isPlainObject(v)) return true;
  addIssue(issues, path, message);
  return false;
}

/**
 * Runs `check` on an object (an issue with `message` when it is none); undefined when the check appended any issue.
 */
function checkedObject<T>(
  input: unknown,
  path: string[],
  issues: TslIssue[],
  message: string,
  check: (o: Record<string, unknown>) => T | undefined,
): T | undefined {
  if (!objectOrIssue(input, path, issues, message)) return undefined;
  const before = issues.length;
  const out = check(input);
  return issues.length === before ? out : undefined;
}

/** Returns the normalised data type, or undefined when it had issues (all of them appended to `issues`). */
export function checkDataType(
  input: unknown,
  path: string[],
  issues: TslIssue[],
  place: DataTypePlace = 'feature',
): DataType | undefined {
  return checkedObject(input, path, issues, 'dataType must be an object with type and specs', (input) => {
    const allowed = place === 'feature' ? ALL_TYPES : place === 'item' ? ITEM_TYPES : MEMBER_TYPES;
    const type = input.type;
    if (typeof type !== 'string' || !allowed.includes(type)) {
      const why = place === 'member' ? ' (a struct member cannot be a struct or an array)' : '';
      addIssue(issues, [...path, 'type'], `type must be one of ${allowed.join(', ')}${why}`);
      return undefined;
    }
    const specsPath = [...path, 'specs'];
    const specs = input.specs;
    // Array items of type int/float/double/text often come without specs in real exports (fixture smart-lamp.json).
    const optional = place === 'item' && specs === undefined;
    let out: DataType | undefined;
    switch (type) {
      case 'int':
      case 'float':
      case 'double': {
        const s = optional ? undefined : checkNumberSpecs(specs, specsPath, issues, type === 'int');
        out = (s ? { type, specs: s } : { type }) as DataType;
        break;
      }
      case 'text': {
        const s = optional ? undefined : checkTextSpecs(specs, specsPath, issues);
        out = (s ? { type, specs: s } : { type }) as DataType;
        break;
      }
      case 'date':
        // specs is {} (§4.2); absent is tolerated, extra keys are ignored like every unknown key.
        if (specs !== undefined && !isPlainObject(specs)) addIssue(issues, specsPath, 'date specs must be {}');
        out = { type, specs: {} };
        break;
      case 'bool':
        out = { type, specs: checkBoolSpecs(specs, specsPath, issues) };
        break;
      case 'enum':
        out = { type, specs: checkEnumSpecs(specs, specsPath, issues) };
        break;
      case 'struct':
        out = { type, specs: checkStructSpecs(specs, specsPath, issues) };
        break;
      case 'array':
        out = checkArray(specs, specsPath, issues);
        break;
    }
    return out;
  });
}

/** A parameter or struct member `{identifier, name, dataType}` (alink-protocol.md §4.3, §4.4). */
export function checkParam(
  input: unknown,
  path: string[],
  issues: TslIssue[],
  place: DataTypePlace = 'feature',
): TslParam | undefined {
  return checkedObject(input, path, issues, 'must be an object with identifier, name and dataType', (input) => {
    const identifier = checkIdentifier(input.identifier, [...path, 'identifier'], issues);
    const name = checkName(input.name, [...path, 'name'], issues);
    const dataType = checkDataType(input.dataType, [...path, 'dataType'], issues, place);
    return identifier === undefined || name === undefined || dataType === undefined
      ? undefined
      : { identifier, name, dataType };
  });
}

/** A list of parameters with unique identifiers and at most `max` entries; absent means empty. */
export function checkParamList(
  input: unknown,
  path: string[],
  issues: TslIssue[],
  max: number,
  place: DataTypePlace = 'feature',
): TslParam[] {
  if (input === undefined) return [];
  if (!Array.isArray(input)) {
    addIssue(issues, path, 'must be an array');
    return [];
  }
  if (input.length > max) addIssue(issues, path, `at most ${max} entries are allowed (found ${input.length})`);
  const out: TslParam[] = [];
  const seen = new Set<string>();
  input.forEach((raw, i) => {
    const p = checkParam(raw, [...path, String(i)], issues, place);
    const id = isPlainObject(raw) ? raw.identifier : undefined;
    if (typeof id === 'string') {
      if (seen.has(id)) addIssue(issues, [...path, String(i), 'identifier'], `duplicate identifier "${id}"`);
      seen.add(id);
    }
    if (p) out.push(p);
  });
  return out;
}

interface Num {
  text: string;
  n: number;
}

/** A numeric spec: a numeric string as the reference writes it, or a JSON number (tolerated, kept as a string). */
function checkNumber(v: unknown, path: string[], issues: TslIssue[], isInt: boolean): Num | undefined {
  const key = path[path.length - 1] ?? 'value';
  let num: Num | undefined;
  if (typeof v === 'number' && Number.isFinite(v)) num = { text: String(v), n: v };
  else if (typeof v === 'string' && isNumericString(v)) num = { text: v, n: Number(v) };
  if (num === undefined) {
    addIssue(issues, path, v === undefined ? `${key} is required` : `${key} must be a numeric string`);
    return undefined;
  }
  if (isInt && !isInt32(num.n)) {
    addIssue(issues, path, `${key} must be an integer in the 32-bit signed range`);
    return undefined;
  }
  return num;
}

/** An integer count such as text length or array size, within [lo, hi]. */
function checkCount(v: unknown, path: string[], issues: TslIssue[], lo: number, hi: number): string | undefined {
  const key = path[path.length - 1] ?? 'value';
  const before = issues.length;
  const num = checkNumber(v, path, issues, true);
  if (num === undefined || num.n < lo || num.n > hi) {
    if (issues.length === before) addIssue(issues, path, `${key} must be an integer from ${lo} to ${hi}`);
    return undefined;
  }
  return num.text;
}

function checkNumberSpecs(specs: unknown, path: string[], issues: TslIssue[], isInt: boolean): NumberSpecs | undefined {
  if (!objectOrIssue(specs, path, issues, 'specs must be an object with min and max')) return undefined;
  const min = checkNumber(specs.min, [...path, 'min'], issues, isInt);
  const max = checkNumber(specs.max, [...path, 'max'], issues, isInt);
  const step = specs.step === undefined ? undefined : checkNumber(specs.step, [...path, 'step'], issues, isInt);
  if (min && max && min.n > max.n) addIssue(issues, [...path, 'max'], 'max must not be less than min');
  if (step && step.n <= 0) addIssue(issues, [...path, 'step'], 'step must be greater than 0');
  // A relative tolerance keeps decimal ranges such as 0.1..0.3 with step 0.2 valid despite binary rounding.
  else if (step && min && max && min.n <= max.n) {
    const span = max.n - min.n;
    if (step.n - span > 1e-9 * Math.max(1, Math.abs(max.n), Math.abs(min.n))) {
      addIssue(issues, [...path, 'step'], 'step must not be larger than max - min');
    }
  }
  for (const k of ['unit', 'unitName'] as const) {
    if (specs[k] !== undefined && typeof specs[k] !== 'string') addIssue(issues, [...path, k], `${k} must be a string`);
  }
  if (!min || !max) return undefined;
  const out: NumberSpecs = { min: min.text, max: max.text };
  if (step) out.step = step.text;
  if (typeof specs.unit === 'string') out.unit = specs.unit;
  if (typeof specs.unitName === 'string') out.unitName = specs.unitName;
  return out;
}

function checkTextSpecs(specs: unknown, path: string[], issues: TslIssue[]): TextSpecs | undefined {
  if (!objectOrIssue(specs, path, issues, 'specs must be an object with length')) return undefined;
  const length = checkCount(specs.length, [...path, 'length'], issues, 1, TSL_LIMITS.textLength);
  return length === undefined ? undefined : { length };
}

const nonEmptyName = (v: unknown): string | undefined =>
  typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;

function checkBoolSpecs(specs: unknown, path: string[], issues: TslIssue[]): BoolSpecs {
  const out: BoolSpecs = { '0': '', '1': '' };
  if (!objectOrIssue(specs, path, issues, 'bool specs must be an object with the keys "0" and "1"')) return out;
  for (const key of Object.keys(specs)) {
    if (key !== '0' && key !== '1') addIssue(issues, [...path, key], 'bool specs allow only the keys "0" and "1"');
  }
  for (const key of ['0', '1'] as const) {
    const name = nonEmptyName(specs[key]);
    if (name === undefined) addIssue(issues, [...path, key], `the name of ${key} must be a non-empty string`);
    else out[key] = name;
  }
  return out;
}

function checkEnumSpecs(specs: unknown, path: string[], issues: TslIssue[]): EnumSpecs {
  const out: EnumSpecs = {};
  if (!objectOrIssue(specs, path, issues, 'enum specs must be an object of integer keys to names')) return out;
  const keys = Object.keys(specs);
  if (keys.length < 1 || keys.length > TSL_LIMITS.enumEntries) {
    addIssue(issues, path, `an enum has 1 to ${TSL_LIMITS.enumEntries} entries (found ${keys.length})`);
  }
  for (const key of keys) {
    if (!/^-?\d+$/.test(key) || !isInt32(Number(key))) {
      addIssue(issues, [...path, key], 'enum keys must be integers');
      continue;
    }
    const name = nonEmptyName(specs[key]);
    if (name === undefined) addIssue(issues, [...path, key], `the name of ${key} must be a non-empty string`);
    else out[key] = name;
  }
  return out;
}

function checkStructSpecs(specs: unknown, path: string[], issues: TslIssue[]): StructMember[] {
  if (!Array.isArray(specs) || specs.length === 0) {
    addIssue(issues, path, `struct specs must be an array of 1 to ${TSL_LIMITS.structMembers} members`);
    return [];
  }
  // More than 50 members is reported by checkParamList, once.
  // Members are scalar (place 'member'), so the cast from TslParam narrows to what checkDataType admitted.
  return checkParamList(specs, path, issues, TSL_LIMITS.structMembers, 'member').map((p) => ({
    identifier: p.identifier,
    name: p.name,
    dataType: p.dataType as ScalarDataType,
  }));
}

function checkArray(specs: unknown, path: string[], issues: TslIssue[]): DataType | undefined {
  if (!objectOrIssue(specs, path, issues, 'array specs must be an object with size and item')) return undefined;
  const size = checkCount(specs.size, [...path, 'size'], issues, 1, TSL_LIMITS.arraySize);
  const item = checkDataType(specs.item, [...path, 'item'], issues, 'item') as ArrayItemType | undefined;
  return size !== undefined && item !== undefined ? { type: 'array', specs: { size, item } } : undefined;
}
