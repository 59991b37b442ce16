// `npm run build:server`, after `tsc -p tsconfig.build.json` emitted src/ into dist/ (relative .ts imports rewritten to
// .js, stack.md gotcha 15): the files the server reads at run time, i.e. the migrations (src/db/client.ts resolves
// them next to itself). `npm run build` runs it, and `npm install` runs that through `prepare`.
import { cpSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const migrations = path.join(root, 'dist/db/migrations');
rmSync(migrations, { recursive: true, force: true }); // a migration removed from src/ must not linger in dist/
cpSync(path.join(root, 'src/db/migrations'), migrations, { recursive: true });
// bin/thingql.js runs dist/ only while it is newer than every source file.
writeFileSync(path.join(root, 'dist/.built'), `${new Date().toISOString()}\n`);
