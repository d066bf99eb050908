// Attack 15 (unauthorized-machine) against an SVM on a freshly provisioned machine, beside its control.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { scenario } from '../../src/attacks/scenarios/15-unauthorized-machine.js';
import type { AttackContext } from '../../src/attacks/index.js';
import { attackMachine, cleanup, expectBlocked } from './helpers.js';

let ctx: AttackContext;
before(async () => { ({ ctx } = await attackMachine()); });
after(cleanup);

test('an SVM runs only where its blob authorizes the current machine key', async () => {
  const r = await expectBlocked(scenario, ctx);
  for (const rx of [
    /authorized only for another machine: UV_ESM refused: no lockbox for this machine's key/,
    /a lockbox forged with this machine's fingerprint: UV_ESM refused: the TPM refused to unwrap the key/,
    /authorized for this machine's key before it was rekeyed: UV_ESM refused: no lockbox for this machine's key/,
    /Control: authorized for this machine's key it went secure and read its canary; after the rekey, authorized for the new key it went secure and read its canary/,
  ]) assert.match(r.evidence, rx);
});
