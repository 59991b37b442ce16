#!/usr/bin/env node
// Run one operation of session.graphql (or of the file given with --file) against ThingQL and print the answer.
//
//   node examples/first-session/gql.cjs <OperationName> [name=value ...] [--pick path.to.field] [--file ops.graphql]
//
// Settings: THINGQL_URL (default http://localhost:$PORT/graphql, PORT 4000 when unset) and THINGQL_TOKEN (a bearer
// token, e.g. the admin token). A value starting with { or [ is read as JSON, anything else as a string.
// Exit status: 0, or 1 when the answer has errors or userErrors (printed to stderr), 2 on bad arguments.
'use strict';
const { readFileSync } = require('node:fs');
const path = require('node:path');

const args = process.argv.slice(2);
let file = path.join(__dirname, 'session.graphql');
let pick;
const variables = {};
let operationName;
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--pick') pick = args[++i];
  else if (a === '--file') file = args[++i];
  else if (!operationName && !a.includes('=')) operationName = a;
  else if (a.includes('=')) {
    const at = a.indexOf('=');
    const raw = a.slice(at + 1);
    variables[a.slice(0, at)] = /^\s*[[{]/.test(raw) ? JSON.parse(raw) : raw;
  } else {
    console.error(`unexpected argument ${a}`);
    process.exit(2);
  }
}
if (!operationName) {
  console.error('usage: gql.cjs <OperationName> [name=value ...] [--pick path] [--file ops.graphql]');
  process.exit(2);
}
const url = process.env.THINGQL_URL || `http://localhost:${process.env.PORT || 4000}/graphql`;
const headers = { 'content-type': 'application/json' };
if (process.env.THINGQL_TOKEN) headers.authorization = `Bearer ${process.env.THINGQL_TOKEN}`;

fetch(url, {
  method: 'POST',
  headers,
  body: JSON.stringify({ query: readFileSync(file, 'utf8'), operationName, variables }),
})
  .then(async (res) => {
    const body = await res.json().catch(() => ({ errors: [{ message: `HTTP ${res.status} from ${url}` }] }));
    const problems = [...(body.errors || [])];
    for (const payload of Object.values(body.data || {})) {
      if (payload && Array.isArray(payload.userErrors)) problems.push(...payload.userErrors);
    }
    if (problems.length > 0) {
      console.error(
        `${operationName}: ${problems.map((p) => (p.code ? `${p.code}: ${p.message}` : p.message)).join('; ')}`,
      );
      process.exit(1);
    }
    let value = body.data;
    if (pick) for (const key of pick.split('.')) value = value == null ? undefined : value[key];
    console.log(typeof value === 'string' ? value : JSON.stringify(value, null, 2));
  })
  .catch((err) => {
    console.error(
      `cannot reach ThingQL at ${url}: ${err.cause ? err.cause.message || err.cause.code : err.message} (set THINGQL_URL)`,
    );
    process.exit(1);
  });
