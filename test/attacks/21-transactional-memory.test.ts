// Attack 21 (transactional-memory) against an SVM on a freshly provisioned machine, beside its control.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { scenario } from '../../src/attacks/scenarios/21-transactional-memory.js';
import type { AttackContext } from '../../src/attacks/index.js';
import { attackMachine, cleanup, expectBlocked } from './helpers.js';

let ctx: AttackContext;
before(async () => { ({ ctx } = await attackMachine()); });
after(cleanup);

test('transactional memory is an illegal instruction in an SVM whatever the hypervisor grants; it runs in a normal VM', async () => {
  const r = await expectBlocked(scenario, ctx);
  for (const rx of [
    /with HFSCR\[TM\] granted on [1-9]\d* returns into the SVM, its tbegin\. \(MSR\[S\]=1\) got a program interrupt \(SRR1 0x[0-9a-f]+, illegal instruction\)/,
    /A hypervisor ultracall with a transaction active: U_BAD_MODE/,
    /Control: the same kernel in a normal VM, with HFSCR\[TM\] granted on [1-9]\d* returns: tbegin\. ran \(CR0 0x2\); it powered off cleanly/,
  ]) assert.match(r.evidence, rx);
});
