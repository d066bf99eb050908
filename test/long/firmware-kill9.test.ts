// Many kill -9s at random points of machine create, rekey and duplicate-key (npm run test:long).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killCreate, killDuplicate, killRekey } from '../firmware/kill9-lib.js';

const root = mkdtempSync(join(tmpdir(), 'pef-kill9-long-'));
after(() => rmSync(root, { recursive: true, force: true }));
const N = Number(process.env.PEF_KILL9_ITERATIONS ?? 30);

for (const [name, f] of [['create', killCreate], ['rekey', killRekey], ['duplicate-key', killDuplicate]] as const) {
  test(`kill -9 during machine ${name}, ${N} times`, async () => {
    const r = await f(root, N, Math.random);
    assert.equal(r.oldState + r.newState, N);
    // Both outcomes should occur over many runs: kills before and after the commit.
    assert.ok(r.kills > 0, JSON.stringify(r));
  });
}
