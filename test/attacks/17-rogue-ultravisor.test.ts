// Attack 17 (rogue-ultravisor) against an SVM on a freshly provisioned machine, beside its controls.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { scenario } from '../../src/attacks/scenarios/17-rogue-ultravisor.js';
import type { AttackContext } from '../../src/attacks/index.js';
import { attackMachine, cleanup, expectBlocked } from './helpers.js';

let ctx: AttackContext;
before(async () => { ({ ctx } = await attackMachine()); });
after(cleanup);

test('a signed rogue ultravisor gets no key from the TPM and an unsigned one never boots; bound to the rogue, the key would leak', async () => {
  const r = await expectBlocked(scenario, ctx);
  for (const rx of [
    /the signed rogue ultravisor passed secure boot and was measured as "rogue" \(the machine key is bound to another measurement: yes\): UV_ESM refused: the TPM refused to unwrap the key/,
    /it leaked 0 master keys, and the SVM's master key was found in 0 normal and 0 secure frames/,
    /The unsigned ultravisor: secure boot stopped at stage ultravisor: the image is not signed/,
    /Control: the genuine ultravisor: went secure; the VM read its canary/,
    /the rogue was given the key and leaked it: the master key is in [1-9]\d* normal frames? \(first at 0x[0-9a-f]+\)/,
  ]) assert.match(r.evidence, rx);
});
