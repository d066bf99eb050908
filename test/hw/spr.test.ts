// Every SPR of the ABI table x every mode x read/write (and with SMFCTRL[D] on and off) gives
// the value or the interrupt the table says. The expectation is computed here from the table and
// the privilege order of PEF.md section 2, independently of the CPU's own check.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SPRS, SMFCTRL_E } from '../../src/abi/spr.js';
import { HardwareInterrupt } from '../../src/hw/faults.js';
import { ALL_MODES, inMode } from './helpers.js';

const RANK: Record<string, number> = { problem: 0, 'secure-problem': 0, 'host-problem': 0, privileged: 1, 'secure-privileged': 1, hypervisor: 2, ultravisor: 3 };
const NEED: Record<string, number> = { user: 0, priv: 1, hv: 2, uv: 3 };
type Outcome = { kind: 'ok' } | { kind: 'noop' } | { kind: 'zero' } | { kind: 'interrupt'; vector: number };

function expected(spr: (typeof SPRS)[number], mode: string, write: boolean, debug: boolean): Outcome {
  const rank = RANK[mode]!;
  const problem = rank === 0;
  let need: string = write ? spr.write : spr.read;
  if (need === 'hv' && spr.uvWhen && (write ? spr.uvWhen.write : spr.uvWhen.read)) {
    const on = spr.uvWhen.bit === 'E' ? true : debug; // the facility is on in these machines
    if (on) need = 'uv';
  }
  if (need === 'none') {
    if (problem) return { kind: 'interrupt', vector: 0x700 };
    if (write) return { kind: 'noop' };
    return rank === 3 ? { kind: 'zero' } : { kind: 'interrupt', vector: 0xE40 };
  }
  if (NEED[need]! > rank) return { kind: 'interrupt', vector: problem ? 0x700 : 0xE40 };
  return { kind: 'ok' };
}

const PATTERN = 0x0000_0000_1357_9bd0n;

for (const debug of [false, true]) {
  for (const mode of ALL_MODES) {
    test(`SPR access from ${mode}${debug ? ' with SMFCTRL[D]=1' : ''} follows the table`, () => {
      let checked = 0;
      for (const spr of SPRS) {
        for (const write of [false, true]) {
          const ctx = inMode(mode, { debug });
          assert.ok(ctx, `mode ${mode} reachable`);
          const { cpu } = ctx;
          const exp = expected(spr, mode, write, debug);
          const act = (): bigint | void => (write ? cpu.mtspr(spr.num, PATTERN) : cpu.mfspr(spr.num));
          const label = `${write ? 'mtspr' : 'mfspr'} ${spr.name} in ${mode}`;
          if (exp.kind === 'interrupt') {
            assert.throws(act, (e: unknown) => e instanceof HardwareInterrupt && e.vector === exp.vector, label);
            assert.equal(cpu.mode, mode, `${label}: no mode change on a refused access`);
          } else if (exp.kind === 'zero') {
            assert.equal(act(), 0n, label);
          } else if (write && spr.read === 'none') {
            assert.doesNotThrow(act, label); // write-only time base halves: nothing to read back
          } else if (write) {
            const before = readAsUv(ctx, spr.num);
            act();
            const after = readAsUv(ctx, spr.num);
            if (exp.kind === 'noop') assert.equal(after, before, `${label} must not change it`);
            else if (spr.name === 'SMFCTRL') assert.equal(after, PATTERN | SMFCTRL_E, `${label}: E stays set`);
            else if (!['TB', 'TBU', 'TBL_W', 'TBU_W', 'DEC', 'HDEC'].includes(spr.name)) assert.equal(after & PATTERN, PATTERN, label);
          } else {
            assert.equal(typeof act(), 'bigint', label);
          }
          checked++;
        }
      }
      assert.equal(checked, SPRS.length * 2);
    });
  }
}

test('an undefined SPR number raises the interrupt for the mode (and is a no-op for the ultravisor)', () => {
  for (const mode of ALL_MODES) {
    const ctx = inMode(mode)!;
    if (mode === 'ultravisor') { assert.equal(ctx.cpu.mfspr(700), 0n); ctx.cpu.mtspr(700, 1n); continue; }
    const vec = mode.endsWith('problem') ? 0x700 : 0xE40;
    assert.throws(() => ctx.cpu.mfspr(700), (e: unknown) => e instanceof HardwareInterrupt && e.vector === vec);
  }
});

/** Read back in the same mode; every SPR that a mode may write (but TBL_W/TBU_W) it may also read. */
function readAsUv(ctx: { cpu: { mfspr(n: number): bigint } }, num: number): bigint {
  return ctx.cpu.mfspr(num);
}
