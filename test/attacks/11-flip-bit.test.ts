// Attack 11 (flip-bit-paged-out-page) against an SVM on a freshly provisioned machine, beside its control.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { scenario } from '../../src/attacks/scenarios/11-flip-bit.js';
import type { AttackContext } from '../../src/attacks/index.js';
import { attackMachine, cleanup, expectBlocked } from './helpers.js';

let ctx: AttackContext;
before(async () => { ({ ctx } = await attackMachine()); });
after(cleanup);

test("a ciphertext with one bit flipped does not verify", async () => {
  const r = await expectBlocked(scenario, ctx);
  for (const rx of [
    /with one bit of the ciphertext flipped/,
    /-> U_P3/,
    /verified its memory test/,
    /Control: the same UV_PAGE_IN with the honest ciphertext -> (\d+) of \1 U_SUCCESS/,
  ]) assert.match(r.evidence, rx);
});
