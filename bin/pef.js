#!/usr/bin/env node
// The installed command runs the compiled CLI; `npm ci` builds it (the "prepare" script).
import { raiseMallocThresholds } from '../dist/util/malloc-thresholds.js';
import { main } from '../dist/cli/main.js';
raiseMallocThresholds();
main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
