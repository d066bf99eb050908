// Generates docs/abi.md from the tables in src/abi. With --check, fails (exit 1) when the
// committed file differs, so CI catches a stale page.
import { readFileSync, existsSync } from 'node:fs';
import { writeFileAtomic } from '../src/util/atomic.js';
import { renderAbiDoc } from '../src/abi/doc.js';

const path = 'docs/abi.md';
const text = renderAbiDoc();
if (process.argv.includes('--check')) {
  const cur = existsSync(path) ? readFileSync(path, 'utf8') : '';
  if (cur !== text) {
    console.error(`${path} is stale: run \`npm run gen:abi\` and commit it`);
    process.exit(1);
  }
  console.log(`${path} is up to date`);
} else {
  writeFileAtomic(path, text);
  console.log(`wrote ${path}`);
}
