#!/usr/bin/env node
// The compiled build (dist/, made by `npm run build`, which `npm install` runs) when it is up to date; otherwise the
// sources through tsx's loader (Node 20 cannot run .ts by itself: stack.md gotcha 15).
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const stamp = path.join(root, 'dist/.built');

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(p) : statSync(p).mtimeMs);
  }
  return newest;
}

const src = path.join(root, 'src');
const useDist = existsSync(stamp) && (!existsSync(src) || newestSource(src) <= statSync(stamp).mtimeMs);
if (useDist) {
  await import(new URL('../dist/main.js', import.meta.url).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/main.ts');
}
