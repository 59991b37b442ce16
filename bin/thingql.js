#!/usr/bin/env node
// Node 20 cannot run .ts by itself (stack.md gotcha 15): register tsx's loader in this process, then run the CLI.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
