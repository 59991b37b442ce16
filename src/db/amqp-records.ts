/** Plain records of server-side subscription (cloud-api.md §7, §8). */
export interface ConsumerGroupRecord {
  id: number;
  groupId: string;
  name: string;
  position: number;
  createdAt: Date;
}
