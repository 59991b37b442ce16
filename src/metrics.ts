import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics, one registry per platform instance (no module-level singletons). */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'thingql_' });
  return {
    registry,
    graphqlOperations: new Counter({
      name: 'thingql_graphql_operations_total',
      help: 'GraphQL operations executed, by type and outcome',
      labelNames: ['type', 'outcome'] as const,
      registers: [registry],
    }),
    eventsAppended: new Counter({ name: 'thingql_events_appended_total', help: 'Events appended to the event log', labelNames: ['type'] as const, registers: [registry] }),
    commitBatchSize: new Histogram({
      name: 'thingql_commit_batch_size',
      help: 'Events per group commit',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
      registers: [registry],
    }),
    mqttConnections: new Gauge({ name: 'thingql_mqtt_connections', help: 'Connected MQTT clients on this instance', registers: [registry] }),
    mqttLogins: new Counter({ name: 'thingql_mqtt_logins_total', help: 'MQTT login attempts, by result', labelNames: ['result'] as const, registers: [registry] }),
    mqttMessagesIn: new Counter({ name: 'thingql_mqtt_messages_in_total', help: 'Accepted device publishes', registers: [registry] }),
    mqttDenied: new Counter({ name: 'thingql_mqtt_acl_denied_total', help: 'Publishes and subscriptions refused by the ACL', labelNames: ['op'] as const, registers: [registry] }),
    ruleEvents: new Counter({
      name: 'thingql_rule_events_total',
      help: 'Rules engine: messages matched, deliveries delivered, failed and dead-lettered, per rule',
      labelNames: ['rule', 'outcome'] as const,
      registers: [registry],
    }),
    amqpConnections: new Gauge({ name: 'thingql_amqp_connections', help: 'AMQP consumer connections on this instance, per group', labelNames: ['group'] as const, registers: [registry] }),
    amqpDelivered: new Counter({ name: 'thingql_amqp_delivered_total', help: 'AMQP first deliveries, per consumer group', labelNames: ['group'] as const, registers: [registry] }),
    amqpRedelivered: new Counter({ name: 'thingql_amqp_redelivered_total', help: 'AMQP redeliveries (released, unanswered, lost), per consumer group', labelNames: ['group'] as const, registers: [registry] }),
    amqpRejected: new Counter({ name: 'thingql_amqp_rejected_total', help: 'AMQP messages a client rejected (consumed, not redelivered)', labelNames: ['group'] as const, registers: [registry] }),
    amqpExpired: new Counter({ name: 'thingql_amqp_expired_total', help: 'AMQP backlog messages skipped as older than AMQP_BACKLOG_MAX_AGE_H', labelNames: ['group'] as const, registers: [registry] }),
    amqpBacklog: new Gauge({ name: 'thingql_amqp_backlog', help: 'Messages after a consumer group cursor not settled yet (groups with clients here)', labelNames: ['group'] as const, registers: [registry] }),
    wsSubscribers: new Gauge({ name: 'thingql_graphql_ws_connections', help: 'Open graphql-ws connections', registers: [registry] }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
