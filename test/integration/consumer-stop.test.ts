/**
 * The event-log consumers (a rule's runner, the topic router) stop when stopped, even while they are taking their
 * lease. A stop that came while the lease query was in flight used to leave the consumer waiting for its next event
 * for good: the abort listener was added after the abort, so the stream never ended and shutdown (SIGTERM) hung.
 *
 * Both consumers are made to take their lease at a moment the test chooses: another instance holds it, so they poll,
 * and a second session holds the lease rows locked, so the poll waits in the database. The lease is then freed in
 * that transaction, the consumers are stopped, and the transaction commits: the waiting queries take the lease.
 * PostgreSQL only (PGlite is one connection: no other session can hold the rows).
 */
import postgres from 'postgres';
import { afterEach, describe, expect, it } from 'vitest';
import { persistentDatabase, startOn } from '../e2e/rules-support.ts';
import type { TestPlatform } from '../helpers/platform.ts';
import { requireService } from '../helpers/services-env.ts';
import { waitFor } from '../helpers/wait.ts';

describe.skipIf(!requireService('TEST_DATABASE_URL'))('event-log consumers stopped while taking their lease', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  it('the rule runner and the topic router stop, and hand the lease back', async () => {
    const db = await persistentDatabase('postgres');
    cleanup.push(db.drop);
    const other = postgres(String(db.settings.DATABASE_URL), { max: 2, onnotice: () => {} });
    cleanup.push(() => other.end({ timeout: 5 }));
    // Another instance holds the topic router's lease before this one starts: its router polls for it.
    await other`insert into consumers (name, position, owner, lease_until)
                values ('topic-routes', 0, 'elsewhere', now() + interval '1 hour')`;
    const t: TestPlatform = await startOn(db.settings, `admin-consumer-stop`);
    cleanup.push(() => t.close());

    const created = await t.gql(
      `mutation { createRule(input: { name: "lease-race", sql: "SELECT * FROM \\"/+/+/user/update\\"",
         actions: [{ type: REPUBLISH, configuration: { topic: "/x/y/user/get" } }] }) { rule { id } userErrors { message } } }`,
    );
    expect(created.data.createRule.userErrors).toEqual([]);
    const id = created.data.createRule.rule.id as string;
    const ruleConsumer = `rule:${/^Rule:(\d+)$/.exec(Buffer.from(id, 'base64').toString())![1]}`;
    // ... and the rule's, so its runner gives up and is started again every reconcile.
    await other`insert into consumers (name, position, owner, lease_until)
                values (${ruleConsumer}, 0, 'elsewhere', now() + interval '1 hour')`;
    const started = await t.gql(`mutation($i: StartRuleInput!) { startRule(input: $i) { rule { status } } }`, {
      i: { id },
    });
    expect(started.data.startRule.rule.status).toBe('RUNNING');

    // A second session locks both lease rows: the next attempt of each consumer waits in the database.
    const locker = await other.reserve();
    await locker`begin`;
    await locker`select name from consumers where name in ('topic-routes', ${ruleConsumer}) for update`;
    await waitFor(
      () =>
        other<{ n: number }[]>`select count(*)::int as n from pg_stat_activity
          where datname = current_database() and wait_event_type = 'Lock' and query ilike 'insert into "consumers"%'`,
      { until: (r) => r[0]!.n === 2, message: 'both consumers waiting for their lease', timeout: 20_000 },
    );
    // Freed in that transaction: when it commits, both waiting queries take the lease.
    await locker`update consumers set owner = null, lease_until = null where name in ('topic-routes', ${ruleConsumer})`;

    const { services } = t.platform;
    const stopped = { router: false, rules: false };
    const stops = [
      services.topicRoutes.stop().then(() => (stopped.router = true)),
      services.runtime.ruleEngine.stop().then(() => (stopped.rules = true)),
    ];
    await locker`commit`;
    locker.release();
    await waitFor(() => stopped, {
      until: (s) => s.router && s.rules,
      message: 'the topic router and the rule runner to stop',
      timeout: 20_000,
    });
    await Promise.all(stops);
    // They took the lease and handed it back on the way out: another instance can take it at once.
    const leases = await other`select name, owner from consumers where name in ('topic-routes', ${ruleConsumer})`;
    expect(leases.map((r) => r.owner)).toEqual([null, null]);
  });
});
