/** Plain records of rules and their dead letters. */
export type RuleActionType = 'REPUBLISH' | 'WEBHOOK' | 'AMQP';

export interface RuleAction {
  type: RuleActionType;
  configuration: Record<string, unknown>;
  errorAction: boolean;
}

export type RuleStatus = 'RUNNING' | 'STOPPED';

export interface RuleStats {
  matched: number;
  delivered: number;
  failed: number;
  deadLettered: number;
}

export interface RuleRecord {
  id: number;
  name: string;
  description: string | null;
  sql: string;
  status: RuleStatus;
  actions: RuleAction[];
  stats: RuleStats;
  lastError: string | null;
  lastErrorAt: Date | null;
  /** Products its REPUBLISH actions may reach (the creating key's scope); null = every product. */
  scope: readonly string[] | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface DeadLetterRecord {
  id: number;
  ruleId: number;
  actionIndex: number;
  deliveryKey: string;
  topic: string;
  output: unknown;
  error: string;
  attempts: number;
  createdAt: Date;
  redrivenAt: Date | null;
}
