// Attack 6 (forge-uv-return-cookie) against an SVM on a freshly provisioned machine, beside its control.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { scenario } from '../../src/attacks/scenarios/06-forge-cookie.js';
import type { AttackContext } from '../../src/attacks/index.js';
import { attackMachine, cleanup, expectBlocked } from './helpers.js';

let ctx: AttackContext;
before(async () => { ({ ctx } = await attackMachine()); });
after(cleanup);

test("forged, replayed and guessed UV_RETURN cookies are refused; the valid one resumes the SVM", async () => {
  const r = await expectBlocked(scenario, ctx);
  for (const rx of [
    /forged cookie 0x[0-9a-f]+ -> U_PARAMETER/,
    /replayed cookie 0x[0-9a-f]+ -> U_PARAMETER/,
    /guessed cookie 0x[0-9a-f]+ -> U_PARAMETER/,
    /valid cookie 0x[0-9a-f]+ resumed the SVM/,
  ]) assert.match(r.evidence, rx);
});
