import { eq } from 'drizzle-orm';
import type { ShadowDocument } from '../../domain/alink/shadow.ts';
import type { Executor } from '../client.ts';
import { deviceShadows } from '../tables.ts';

/** A stored device shadow and when it was last written. */
export interface ShadowView extends ShadowDocument {
  updatedAt: Date;
}

function toShadowView(r: typeof deviceShadows.$inferSelect): ShadowView {
  const metadata = (r.metadata ?? {}) as Partial<ShadowDocument['metadata']>;
  return {
    version: r.version,
    reported: (r.reported ?? {}) as Record<string, unknown>,
    desired: (r.desired ?? {}) as Record<string, unknown>,
    metadata: { reported: metadata.reported ?? {}, desired: metadata.desired ?? {} },
    updatedAt: r.updatedAt,
  };
}

/** The device's shadow, null until first written; `lock` takes the row for the version rule of a write. */
export async function readShadow(ex: Executor, deviceId: number, lock = false): Promise<ShadowView | null> {
  const q = ex.select().from(deviceShadows).where(eq(deviceShadows.deviceId, deviceId));
  const rows = lock ? await q.for('update') : await q;
  return rows[0] ? toShadowView(rows[0]) : null;
}

export async function writeShadow(ex: Executor, deviceId: number, doc: ShadowDocument): Promise<void> {
  const values = {
    version: doc.version,
    reported: doc.reported,
    desired: doc.desired,
    metadata: doc.metadata,
    updatedAt: new Date(),
  };
  await ex
    .insert(deviceShadows)
    .values({ deviceId, ...values })
    .onConflictDoUpdate({ target: deviceShadows.deviceId, set: values });
}
