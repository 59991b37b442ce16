import type { ApiRole } from '../access.ts';

/** What an AMQP login needs to know about an AccessKey (cloud-api.md §2): its secret, role and product scope. */
export interface AccessKeyCredential {
  accessKeyId: string;
  /** The plain AccessKeySecret (HMAC verification needs it); never logged. */
  secret: string;
  role: ApiRole;
  /** null: every product. */
  productKeys: readonly string[] | null;
}

/** Resolves an AccessKeyId to its credential; null when the key is unknown or revoked. */
export type AccessKeyResolver = (accessKeyId: string) => Promise<AccessKeyCredential | null>;
