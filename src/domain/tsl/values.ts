/**
 * Value validation against the thing model (alink-protocol.md §3.3–§3.7, D9, D10). One entry point for the
 * broker and the services; the implementation is split by message kind to keep files small (habit 4).
 */
export { tslMessage, TslCode, validateValue, type ValueCheck } from './value-check.ts';
export {
  parseTime,
  validatePropertyPost,
  type FailedItem,
  type MessageFailure,
  type PostedItem,
  type PropertyPostResult,
} from './property-post.ts';
export { validateEventPost, type EventPostResult } from './event-post.ts';
export {
  validatePropertySet,
  validateServiceInput,
  validateServiceOutput,
  type CommandIssue,
  type PropertySetIssue,
  type PropertySetIssueKind,
} from './commands.ts';
