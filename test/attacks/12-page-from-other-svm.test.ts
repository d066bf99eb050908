// Attack 12 (page-from-other-svm) against an SVM on a freshly provisioned machine, beside its control.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { scenario } from '../../src/attacks/scenarios/12-page-from-other-svm.js';
import type { AttackContext } from '../../src/attacks/index.js';
import { attackMachine, cleanup, expectBlocked } from './helpers.js';

let ctx: AttackContext;
before(async () => { ({ ctx } = await attackMachine()); });
after(cleanup);

test("another SVM's ciphertext of the same guest page does not verify", async () => {
  const r = await expectBlocked(scenario, ctx);
  for (const rx of [
    /with the other SVM's ciphertext \(gpa 0x[0-9a-f]+ of lpid \d+ given lpid \d+'s page/,
    /-> U_P3/,
    /every SVM verified its memory test/,
    /Control: the same UV_PAGE_IN with the honest ciphertext -> (\d+) of \1 U_SUCCESS/,
  ]) assert.match(r.evidence, rx);
});
