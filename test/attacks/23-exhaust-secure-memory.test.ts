// Attack 23 (exhaust-secure-memory) against SVMs on a freshly provisioned machine, beside its control.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { scenario } from '../../src/attacks/scenarios/23-exhaust-secure-memory.js';
import type { AttackContext } from '../../src/attacks/index.js';
import { attackMachine, cleanup, expectBlocked } from './helpers.js';

let ctx: AttackContext;
before(async () => { ({ ctx } = await attackMachine()); });
after(cleanup);

test('running the ultravisor out of secure memory makes UV_ESM fail closed; answered page-outs let it succeed', async () => {
  const r = await expectBlocked(scenario, ctx);
  for (const rx of [
    /an SVM of \d+ MiB on \d+ MiB of secure memory: UV_ESM refused: out of secure memory; the VM os-term: UV_ESM failed: out of secure memory; its attachment in 0 normal frames, its passphrase in 0/,
    /UV_REGISTER_MEM_SLOT of 64 GiB: U_SUCCESS: UV_ESM refused: [^;]*; the VM os-term: [^;]*; its attachment in 0 normal frames, its passphrase in 0/,
    /a holder SVM of \d+ MiB running, [1-9]\d* page-outs refused: the second SVM UV_ESM refused: out of secure memory; it os-term: UV_ESM failed: out of secure memory; its attachment in 0 normal frames, its passphrase in 0; the holder ran on and powered off cleanly/,
    /Control: the same crowded machine with the page-outs answered: the ultravisor gave [1-9]\d* of the holder's pages back encrypted, the second SVM went secure, read its canary and powered off cleanly/,
  ]) assert.match(r.evidence, rx);
});
