/**
 * Types of the Alink TSL (Thing Specification Language) document, as exported and imported by the reference
 * (alink-protocol.md §4), and of the compiled `ThingModel` the broker validates messages against.
 *
 * Numeric specs keep the reference's string form (`"min": "0"`) so a document round-trips unchanged
 * (alink-protocol.md §4.2); value validation parses them when needed.
 */

export type AccessMode = 'r' | 'rw';
export type EventType = 'info' | 'alert' | 'error';
export type CallType = 'sync' | 'async';

/** Specs of int, float and double (alink-protocol.md §4.2). `step` is informative: values are not checked on it. */
export interface NumberSpecs {
  min: string;
  max: string;
  step?: string;
  unit?: string;
  unitName?: string;
}

export interface TextSpecs {
  /** maximum length in characters, "1".."10240" (alink-protocol.md §7) */
  length: string;
}

/** bool: exactly the names of the values 0 and 1. */
export interface BoolSpecs {
  '0': string;
  '1': string;
}

/** enum: integer key (as a string) -> display name, 1..100 entries. */
export type EnumSpecs = Record<string, string>;

export interface IntDataType {
  type: 'int';
  specs: NumberSpecs;
}
export interface FloatDataType {
  type: 'float';
  specs: NumberSpecs;
}
export interface DoubleDataType {
  type: 'double';
  specs: NumberSpecs;
}
export interface TextDataType {
  type: 'text';
  specs: TextSpecs;
}
export interface DateDataType {
  type: 'date';
  specs: Record<string, never>;
}
export interface BoolDataType {
  type: 'bool';
  specs: BoolSpecs;
}
export interface EnumDataType {
  type: 'enum';
  specs: EnumSpecs;
}

/** The data types a struct member may have: the seven scalar types (alink-protocol.md §4.2). */
export type ScalarDataType =
  | IntDataType
  | FloatDataType
  | DoubleDataType
  | TextDataType
  | DateDataType
  | BoolDataType
  | EnumDataType;

export interface StructMember {
  identifier: string;
  name: string;
  dataType: ScalarDataType;
}

export interface StructDataType {
  type: 'struct';
  specs: StructMember[];
}

/**
 * Element type of an array. Real exports often omit the specs of numeric and text items
 * (`"item": {"type": "float"}` in the smart-lamp fixture): then no range / length applies beyond the TSL limits.
 */
export type ArrayItemType =
  | { type: 'int' | 'float' | 'double'; specs?: NumberSpecs }
  | { type: 'text'; specs?: TextSpecs }
  | StructDataType;

export interface ArrayDataType {
  type: 'array';
  specs: { size: string; item: ArrayItemType };
}

export type DataType = ScalarDataType | StructDataType | ArrayDataType;
export type DataTypeName = DataType['type'];

/** A parameter definition: event outputData, service inputData/outputData entries (alink-protocol.md §4.3, §4.4). */
export interface TslParam {
  identifier: string;
  name: string;
  dataType: DataType;
}

export interface TslProperty extends TslParam {
  accessMode: AccessMode;
  required: boolean;
  desc?: string;
}

export interface TslEvent {
  identifier: string;
  name: string;
  type: EventType;
  required: boolean;
  desc?: string;
  method: string;
  outputData: TslParam[];
}

export interface TslService {
  identifier: string;
  name: string;
  callType: CallType;
  required: boolean;
  desc?: string;
  method: string;
  /** the default `get` lists property identifiers (strings) here, as real exports do (alink-protocol.md §4.4) */
  inputData: TslParam[] | string[];
  outputData: TslParam[];
}

export interface TslProfile {
  productKey?: string;
  deviceName?: string;
  version?: string;
  [key: string]: unknown;
}

/** A validated, normalised TSL document (see `validateTslDocument`). */
export interface TslDocument {
  schema?: string;
  profile?: TslProfile;
  properties: TslProperty[];
  events: TslEvent[];
  services: TslService[];
}

/** Where a TSL document is wrong: `path` walks from the root, array indexes as strings. */
export interface TslIssue {
  path: string[];
  message: string;
}

export interface CompiledProperty {
  identifier: string;
  name: string;
  accessMode: AccessMode;
  required: boolean;
  dataType: DataType;
}

export interface CompiledEvent {
  identifier: string;
  name: string;
  type: EventType;
  method: string;
  outputData: ReadonlyMap<string, TslParam>;
}

export interface CompiledService {
  identifier: string;
  name: string;
  callType: CallType;
  method: string;
  inputData: ReadonlyMap<string, TslParam>;
  outputData: ReadonlyMap<string, TslParam>;
}

/** The compiled form used on the message path: lookups by identifier (module-prefixed when compiled for a module). */
export interface ThingModel {
  properties: ReadonlyMap<string, CompiledProperty>;
  events: ReadonlyMap<string, CompiledEvent>;
  services: ReadonlyMap<string, CompiledService>;
}

/** Product validation modes (alink-protocol.md D9). */
export type ValidationMode = 'WEAK' | 'STRICT' | 'NONE';
