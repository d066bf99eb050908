#!/usr/bin/env node
// Runs every test/**/*.test.ts with Node's own runner (Node 20 has no glob for --test).
// Arguments narrow the run to files or folders; test/long is only run when named.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function collect(path, out, top) {
  const st = statSync(path);
  if (st.isFile()) { if (path.endsWith('.test.ts')) out.push(path); return; }
  for (const name of readdirSync(path).sort()) {
    const child = join(path, name);
    if (top && child === join('test', 'long')) continue;
    collect(child, out, false);
  }
}

const roots = process.argv.slice(2);
const files = [];
if (roots.length === 0) collect('test', files, true);
else for (const r of roots) collect(r, files, false);
if (files.length === 0) { console.error('run-tests: no test files found'); process.exit(2); }
const concurrency = process.env.PEF_TEST_CONCURRENCY ?? '2';
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
