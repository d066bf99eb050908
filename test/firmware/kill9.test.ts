// kill -9 during machine create, rekey and duplicate-key leaves each machine directory whole
// (old or new). Two kills per operation here, through the library calls the commands make;
// test/long/firmware-kill9.test.ts does many, through the `pef` command itself.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killCreate, killDuplicate, killRekey, runVia } from './kill9-lib.js';

const root = mkdtempSync(join(tmpdir(), 'pef-kill9-'));
after(() => rmSync(root, { recursive: true, force: true }));
const rnd = Math.random;
runVia('lib');

test('kill -9 during machine create', async () => {
  const r = await killCreate(root, 2, rnd);
  assert.equal(r.oldState + r.newState, 2);
});

test('kill -9 during machine rekey', async () => {
  const r = await killRekey(root, 2, rnd);
  assert.equal(r.oldState + r.newState, 2);
});

test('kill -9 during machine duplicate-key', async () => {
  const r = await killDuplicate(root, 2, rnd);
  assert.equal(r.oldState + r.newState, 2);
});
