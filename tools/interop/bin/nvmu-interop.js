#!/usr/bin/env node
// The `nvmu-interop` command. A committed file, so installing the workspace links it before the
// first build (a bin pointing into dist/ makes pnpm warn on a fresh clone).
import '../dist/cli.js';
