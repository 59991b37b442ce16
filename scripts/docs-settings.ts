// `npm run docs:settings`: rewrite the settings table of docs/operations.md from the zod config (src/config.ts and
// src/cli/settings.ts). test/unit/cli-help.test.ts fails when the committed table is stale.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { withSettingsTable } from '../src/cli/help.ts';

const file = path.resolve(import.meta.dirname, '../docs/operations.md');
writeFileSync(file, withSettingsTable(readFileSync(file, 'utf8')));
