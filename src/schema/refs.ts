import type { StreamItem } from '../events/stream.ts';
import type { DeviceRecord, ProductRecord, TopicRecord } from '../db/records.ts';
import { builder } from './builder.ts';

/** Object refs shared between type files (declared here, implemented in their own files) to break import cycles. */
export const ProductRef = builder.objectRef<ProductRecord>('Product');
export const DeviceRef = builder.objectRef<DeviceRecord>('Device');
export const ProductTopicRef = builder.objectRef<TopicRecord>('ProductTopic');
export const StreamEventRef = builder.interfaceRef<StreamItem>('StreamEvent');
