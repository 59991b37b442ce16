/**
 * What each platform event type means, for people: docs/events.md is generated from this table and the data types
 * of catalog.ts (`npm run docs:events`). The Record type makes TypeScript refuse a table that misses a type.
 */
import type { PlatformEventType } from './catalog.ts';

export const EVENT_DESCRIPTIONS: Record<PlatformEventType, string> = {
  'device.lifecycle': 'A device was created, deleted, enabled or disabled through the API (alink-protocol.md §6.6).',
  'device.status':
    'A device came online or went offline. `connectionEpoch` orders the connections of one device: a disconnect ' +
    'of an older connection never marks a newer one offline (§6.3, D15).',
  'device.message':
    'A device publish the platform accepted, on any topic, with its payload in base64 (§6.13 for custom topics). Property posts ' +
    'carry their publish inside `thing.property.post` instead.',
  'registry.changed':
    'Products, topic categories, devices, keys, consumer groups, rules or topic routes changed: every instance ' +
    'drops what it cached of the entity named by `entity` and `what`.',
  'thing.property.post':
    'A device reported property values (§6.4): the items that passed the thing model, the ones that failed in ' +
    '`checkFailedData`, and the publish itself in `message`.',
  'thing.property.history.post':
    'A device reported past property values (history post, §6.10); the same shape as a property post.',
  'thing.event.post': 'A device reported a thing-model event with its output values (§6.5).',
  'thing.deviceinfo.update': 'A device set its tags (§6.12).',
  'thing.deviceinfo.delete': 'A device deleted some of its tags.',
  'thing.topo.lifecycle': 'Sub-devices were added to or removed from a gateway, or enabled or disabled (§6.8).',
  'thing.list.found': 'A gateway reported sub-devices it discovered (§6.9).',
  'thing.downlink.reply':
    'A device answered a cloud command (property set, service call), or the command could not be sent (code 9201: ' +
    'the device is offline) (§6.7).',
  'command.sent': 'The platform sent a cloud-to-device command, or recorded it while the device was offline.',
  'command.reply': 'A device answered an RRPC call; matched to the waiting command by `requestId`.',
  'ota.progress': 'A firmware upgrade task changed state: progress reported by the device or set by the job (§6.11).',
  'ota.upgrade': "The result of one device's firmware upgrade: succeeded or failed (§6.11).",
  'ota.version': 'A device reported the firmware version of one of its modules (§6.11).',
  'ota.job.status': 'A firmware upgrade job changed state (§6.11).',
  'device.shadow': "The device shadow was written, by the device or by the cloud, with the shadow's new state (§2.4).",
};
