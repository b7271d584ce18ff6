#!/usr/bin/env node
import { main } from './index.js';

main().catch((e: unknown) => {
  console.error(`nvmu-target: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
