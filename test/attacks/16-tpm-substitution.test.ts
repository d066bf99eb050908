// Attack 16 (tpm-key-substitution) against an SVM on a freshly provisioned machine, beside its control.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { scenario } from '../../src/attacks/scenarios/16-tpm-substitution.js';
import type { AttackContext } from '../../src/attacks/index.js';
import { attackMachine, cleanup, expectBlocked } from './helpers.js';

let ctx: AttackContext;
before(async () => { ({ ctx } = await attackMachine()); });
after(cleanup);

test('a substituted TPM key or altered TPM traffic never gives the master key away; the honest relay works', async () => {
  const r = await expectBlocked(scenario, ctx);
  for (const rx of [
    /ReadPublic\(0x81800001\) sent as ReadPublic\(0x81800000\) \(the TPM answered success\): UV_ESM refused: the TPM key's Name is not the one firmware reported/,
    /RSA_Decrypt pointed at 0x81800000 \(the TPM answered [^)]*\)\): UV_ESM refused: the TPM refused to unwrap the key/,
    /a bit of the RSA_Decrypt answer flipped \(the TPM answered success\): UV_ESM refused: the TPM refused to unwrap the key/,
    /RSA_Decrypt with the encrypt attribute cleared \(the TPM answered TPM_RC_BAD_AUTH[^)]*\)\): UV_ESM refused/,
    /StartAuthSession without its salt \(the TPM answered success\): UV_ESM refused/,
    /the RSA_Decrypt answer of an earlier SVM's unwrap replayed \(the TPM answered success\): UV_ESM refused/,
    /none holding a master key in clear/,
    /Control: the relay passing everything unchanged: went secure, the SVM read its canary and powered off cleanly/,
  ]) assert.match(r.evidence, rx);
});
