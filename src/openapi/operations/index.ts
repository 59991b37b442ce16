import { deviceOperations } from './devices.ts';
import { messagingOperations } from './messaging.ts';
import { productOperations } from './products.ts';
import type { Operation } from './shared.ts';
import { thingDataOperations } from './thing-data.ts';

/** Every action of cloud-api.md §6; anything else is InvalidAction.NotFound (§9). */
export const operations: ReadonlyMap<string, Operation> = new Map(
  Object.entries({ ...messagingOperations, ...deviceOperations, ...productOperations, ...thingDataOperations }),
);
