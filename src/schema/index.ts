import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { builder } from './builder.ts';
import './scalars.ts';
import './connections.ts';
import './common.ts';
import './product.ts';
import './device.ts';
import './topic.ts';
import './api-key.ts';
import './access-key.ts';
import './consumer-groups.ts';
import './lifecycle.ts';
import './connectivity.ts';
import './thing-data.ts';
import './commands.ts';
import './rules.ts';
import './ota.ts';
import './gateway.ts';
import './shadow.ts';
import './sub-device-gateways.ts';

let schema: GraphQLSchema | null = null;

export function getSchema(): GraphQLSchema {
  schema ??= builder.toSchema({ sortSchema: false });
  return schema;
}

/** The committed `schema.graphql` (graphql-api.md): sorted so the diff of a change is readable. */
export function printedSchema(): string {
  return `${printSchema(lexicographicSortSchema(getSchema()))}\n`;
}
