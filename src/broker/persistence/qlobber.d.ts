// qlobber 8 ships no types; only what the persistence uses. It is the matcher aedes-persistence uses (a dependency of
// aedes-persistence, hoisted), so topic matching behaves exactly as in aedes' default in-memory persistence.
declare module 'qlobber' {
  export interface QlobberOptions {
    separator?: string;
    wildcard_one?: string;
    wildcard_some?: string;
    max_words?: number;
    max_wildcard_somes?: number;
  }
  export class Qlobber<V = unknown> {
    constructor(options?: QlobberOptions);
    add(topic: string, val?: V): this;
    remove(topic: string, val?: unknown): this;
    match(topic: string): V[];
    test(topic: string, val?: unknown): boolean;
    clear(): this;
  }
  export class QlobberTrue extends Qlobber<true> {}
  const qlobber: { Qlobber: typeof Qlobber; QlobberTrue: typeof QlobberTrue };
  export default qlobber;
}

declare module 'qlobber/aedes/qlobber-sub.js' {
  import type { QlobberOptions } from 'qlobber';
  /** Values are `{ clientId, topic, qos, rh, rap, nl }`; one entry per (topic, clientId); `remove` needs `{ clientId, topic }`. */
  class QlobberSub<V> {
    constructor(options?: QlobberOptions);
    readonly subscriptionsCount: number;
    add(topic: string, val: V): this;
    remove(topic: string, val: { clientId: string; topic: string }): this;
    match(topic: string): V[];
    clear(): this;
  }
  export default QlobberSub;
}
