import type { Tx } from '../db/client.ts';
import type { NewEvent } from './types.ts';

/**
 * One statement for every item of a commit that names the same step (presence's logins): `run` gets their inputs in
 * item order and returns one result per input, in the same order.
 */
export type StepRun = (tx: Tx, inputs: unknown[]) => Promise<unknown[]>;

/** An item's part in a shared statement. */
export interface CommitStep {
  /** The step registered with `GroupCommitter.step`. */
  name: string;
  /**
   * What the statement touches (a device id): an item whose key is already pending, in this step or another, runs only
   * after the pending statements, so items on the same row keep their order.
   */
  key: string;
  /** The item's input, made when its transaction runs (so times are the commit's, as in a `work`). */
  input: () => unknown;
  /** The item's events, from its result. */
  events: (result: unknown) => NewEvent[];
}

/**
 * The step items of one transaction, gathered per step and run as one statement each when the order of the batch
 * requires it: before an item with statements of its own (`work`), before an item whose key is pending, and at the
 * end. The batch's effects are then those of running its items one by one, in order; each item's events keep its
 * place in the log (`slot` is the item's own event list).
 */
export class StepGroups {
  private readonly pending = new Map<string, { step: CommitStep; input: unknown; slot: NewEvent[] }[]>();
  private readonly keys = new Set<string>();

  constructor(
    private readonly runs: ReadonlyMap<string, StepRun>,
    private readonly tx: Tx,
  ) {}

  async add(step: CommitStep, slot: NewEvent[]): Promise<void> {
    if (!this.runs.has(step.name)) throw new Error(`no commit step named ${step.name}`);
    if (this.keys.has(step.key)) await this.flush();
    let group = this.pending.get(step.name);
    if (!group) this.pending.set(step.name, (group = []));
    this.keys.add(step.key);
    group.push({ step, input: step.input(), slot });
  }

  /** Run every pending group (in the order the steps were first used). */
  async flush(): Promise<void> {
    const groups = [...this.pending];
    this.pending.clear();
    this.keys.clear();
    for (const [name, group] of groups) {
      const results = await this.runs.get(name)!(
        this.tx,
        group.map((i) => i.input),
      );
      group.forEach((item, k) => item.slot.push(...item.step.events(results[k])));
    }
  }
}
