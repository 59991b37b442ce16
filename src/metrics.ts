import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics, one registry per platform instance (no module-level singletons). */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'thingql_' });
  const registers = [registry];
  const counter = <L extends string = string>(name: string, help: string, labelNames: readonly L[] = []) =>
    new Counter<L>({ name, help, labelNames, registers });
  const gauge = <L extends string = string>(name: string, help: string, labelNames: readonly L[] = []) =>
    new Gauge<L>({ name, help, labelNames, registers });
  return {
    registry,
    graphqlOperations: counter('thingql_graphql_operations_total', 'GraphQL operations executed, by type and outcome', [
      'type',
      'outcome',
    ]),
    eventsAppended: counter('thingql_events_appended_total', 'Events appended to the event log', ['type']),
    commitBatchSize: new Histogram({
      name: 'thingql_commit_batch_size',
      help: 'Events per group commit',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
      registers,
    }),
    commitReruns: counter(
      'thingql_commit_reruns_total',
      'Group commits run again with the dedupe check first: the optimistic check found a resend of a committed message',
    ),
    mqttConnections: gauge('thingql_mqtt_connections', 'Connected MQTT clients on this instance'),
    mqttLogins: counter('thingql_mqtt_logins_total', 'MQTT login attempts, by result', ['result']),
    mqttMessagesIn: counter('thingql_mqtt_messages_in_total', 'Accepted device publishes'),
    mqttDenied: counter('thingql_mqtt_acl_denied_total', 'Publishes and subscriptions refused by the ACL', ['op']),
    ruleEvents: counter(
      'thingql_rule_events_total',
      'Rules engine: messages matched, deliveries delivered, failed and dead-lettered, per rule',
      ['rule', 'outcome'],
    ),
    amqpConnections: gauge('thingql_amqp_connections', 'AMQP consumer connections on this instance, per group', [
      'group',
    ]),
    amqpDelivered: counter('thingql_amqp_delivered_total', 'AMQP first deliveries, per consumer group', ['group']),
    amqpRedelivered: counter(
      'thingql_amqp_redelivered_total',
      'AMQP redeliveries (released, unanswered, lost), per consumer group',
      ['group'],
    ),
    amqpRejected: counter(
      'thingql_amqp_rejected_total',
      'AMQP messages a client rejected (consumed, not redelivered)',
      ['group'],
    ),
    amqpExpired: counter(
      'thingql_amqp_expired_total',
      'AMQP backlog messages skipped as older than AMQP_BACKLOG_MAX_AGE_H',
      ['group'],
    ),
    amqpBacklog: gauge(
      'thingql_amqp_backlog',
      'Messages after a consumer group cursor not settled yet (groups with clients here)',
      ['group'],
    ),
    wsSubscribers: gauge('thingql_graphql_ws_connections', 'Open graphql-ws connections'),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
