// Attack 9 (replay-paged-out-page) against an SVM on a freshly provisioned machine, beside its control.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { scenario } from '../../src/attacks/scenarios/09-replay-page.js';
import type { AttackContext } from '../../src/attacks/index.js';
import { attackMachine, cleanup, expectBlocked } from './helpers.js';

let ctx: AttackContext;
before(async () => { ({ ctx } = await attackMachine()); });
after(cleanup);

test("an older ciphertext of a paged-out page does not verify; the latest does, and the SVM's memory test passes", async () => {
  const r = await expectBlocked(scenario, ctx);
  for (const rx of [
    /with an older ciphertext of the page \(gpa 0x[0-9a-f]+ of lpid \d+ given version 1 of/,
    /-> U_P3 \(\d+ page-verify-failed events\)/,
    /verified its memory test/,
    /Control: the same UV_PAGE_IN with the honest ciphertext -> (\d+) of \1 U_SUCCESS/,
  ]) assert.match(r.evidence, rx);
});
