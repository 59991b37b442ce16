import { expect } from 'vitest';
import type { TestPlatform } from './platform.ts';

/** Runs the admin mutation `name(input: $i)` (input type `<Name>Input`) and expects no userErrors. */
export async function mutateOk(t: TestPlatform, name: string, input: Record<string, unknown>): Promise<void> {
  const r = await t.gql(
    `mutation($i: ${name[0]!.toUpperCase()}${name.slice(1)}Input!) { ${name}(input: $i) { userErrors { code message } } }`,
    { i: input },
  );
  expect(r.data[name].userErrors).toEqual([]);
}
