/** Plain records of firmware packages, upgrade jobs and their per-device tasks. */

/** Task statuses (the reference's ListOTATaskByJob TaskStatus values, without CONFIRM/SCHEDULED). */
export type OtaTaskStatus = 'QUEUED' | 'NOTIFIED' | 'IN_PROGRESS' | 'SUCCEEDED' | 'FAILED' | 'CANCELED';
export type OtaJobStatus = 'PLANNED' | 'IN_PROGRESS' | 'COMPLETED' | 'CANCELED';
export type SignMethod = 'MD5' | 'SHA256';

/** A task in one of these holds its device for its module: a device is in at most one active task per module. */
export const ACTIVE_TASK: readonly OtaTaskStatus[] = ['QUEUED', 'NOTIFIED', 'IN_PROGRESS'];
export const ACTIVE_JOB: readonly OtaJobStatus[] = ['PLANNED', 'IN_PROGRESS'];

export interface FirmwareRecord {
  id: number;
  productKey: string;
  name: string;
  version: string;
  module: string;
  size: number;
  md5: string;
  /** null: registered by URL with an MD5 signature only. */
  sha256: string | null;
  signMethod: SignMethod;
  /** External URL (registered by URL); null when ThingQL stores and serves the bytes. */
  url: string | null;
  createdAt: Date;
}

export interface OtaJobRecord {
  id: number;
  firmwareId: number;
  productKey: string;
  srcVersions: string[] | null;
  rolloutRate: number | null;
  status: OtaJobStatus;
  createdAt: Date;
}

export interface OtaTaskRecord {
  id: number;
  jobId: number;
  deviceId: number;
  status: OtaTaskStatus;
  step: number | null;
  desc: string | null;
  srcVersion: string | null;
  destVersion: string;
  module: string;
  notifiedAt: Date | null;
  updatedAt: Date;
}

/** A device with the parts events and pushes need. */
export interface OtaDevice {
  id: number;
  iotId: string;
  productKey: string;
  deviceName: string;
}

/** What a task transition knows about its task (joined with job and firmware). */
export interface TaskContext {
  taskId: number;
  jobId: number;
  module: string;
  srcVersion: string | null;
  destVersion: string;
}

/** A device's task for a module while it is active. */
export interface ActiveTask extends TaskContext {
  status: OtaTaskStatus;
}

/** What an upgrade push needs of a claimed task. */
export interface PushTarget {
  taskId: number;
  jobId: number;
  firmwareId: number;
  device: OtaDevice;
}
