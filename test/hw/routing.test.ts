// The interrupt-routing matrix: every vector x MSR[S] x SMFCTRL[E], one test per cell, taken
// from a guest kernel (HV=0, PR=0). Hypervisor-directed interrupts taken with S=1 go to the
// ultravisor when E=1 (PEF.md section 2); guest-directed ones stay in the guest's kernel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VECTORS } from '../../src/abi/interrupts.js';
import { MSR } from '../../src/abi/msr.js';
import { SPR } from '../../src/abi/spr.js';
import { inMode } from './helpers.js';

for (const v of VECTORS) {
  for (const e of [1, 0]) {
    for (const s of [0, 1]) {
      const name = `vector 0x${v.vector.toString(16)} ${v.name}, S=${s}, E=${e}`;
      test(name, () => {
        const ctx = inMode(s ? 'secure-privileged' : 'privileged', { smf: e === 1 });
        if (s === 1 && e === 0) {
          // Without the facility nothing can set MSR[S]: the cell cannot be reached.
          assert.equal(ctx, null);
          return;
        }
        const { cpu } = ctx!;
        cpu.deliver(v.vector, 0x1234);
        const toUv = v.cls !== 'os' && s === 1 && e === 1;
        const toHv = v.cls !== 'os' && !toUv;
        const want = toUv ? 'ultravisor' : toHv ? 'hypervisor' : (s ? 'secure-privileged' : 'privileged');
        assert.equal(cpu.mode, want);
        assert.equal(cpu.regs.pc, v.vector);
        const pair = toUv ? [SPR.USRR0!, SPR.USRR1!] : v.cls === 'hv' ? [SPR.HSRR0!, SPR.HSRR1!] : [SPR.SRR0!, SPR.SRR1!];
        assert.equal(cpu.mfspr(pair[0]!), 0x1234n);
        assert.equal(cpu.mfspr(pair[1]!) & MSR.S, s ? MSR.S : 0n);
        if (toUv || toHv) assert.equal(cpu.msr & MSR.EE, 0n);
      });
    }
  }
}
