// sc 0/1/2, rfid, hrfid, urfid and mtmsrd from every mode: the resulting mode, PC and
// save/restore pair, or the interrupt raised. Expectations are written from PEF.md section 2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MSR, SRR1_SC_LEV_SHIFT, SRR1_SC_LEV_MASK } from '../../src/abi/msr.js';
import { SPR } from '../../src/abi/spr.js';
import { Checkstop, HardwareInterrupt } from '../../src/hw/faults.js';
import { ALL_MODES, BASE_MSR, MODE_MSR, inMode } from './helpers.js';

type Target = 'ultravisor' | 'hypervisor' | 'same-kernel' | 'checkstop';
// Where `sc LEV` lands with the facility on (E=1) and off (E=0), from each mode.
const SC_TARGET: Record<string, { e1: [Target, Target, Target]; e0?: [Target, Target, Target] }> = {
  ultravisor: { e1: ['checkstop', 'checkstop', 'checkstop'] },
  hypervisor: { e1: ['hypervisor', 'hypervisor', 'ultravisor'], e0: ['hypervisor', 'hypervisor', 'hypervisor'] },
  'host-problem': { e1: ['hypervisor', 'hypervisor', 'ultravisor'], e0: ['hypervisor', 'hypervisor', 'hypervisor'] },
  privileged: { e1: ['same-kernel', 'hypervisor', 'ultravisor'], e0: ['same-kernel', 'hypervisor', 'hypervisor'] },
  problem: { e1: ['same-kernel', 'hypervisor', 'ultravisor'], e0: ['same-kernel', 'hypervisor', 'hypervisor'] },
  'secure-privileged': { e1: ['same-kernel', 'ultravisor', 'ultravisor'] },
  'secure-problem': { e1: ['same-kernel', 'ultravisor', 'ultravisor'] },
};
const PAIR: Record<Target, [number, number] | null> = {
  ultravisor: [SPR.USRR0!, SPR.USRR1!], hypervisor: [SPR.SRR0!, SPR.SRR1!], 'same-kernel': [SPR.SRR0!, SPR.SRR1!], checkstop: null,
};

for (const mode of ALL_MODES) {
  for (const smf of [true, false]) {
    const targets = smf ? SC_TARGET[mode]!.e1 : SC_TARGET[mode]!.e0;
    if (!targets) {
      test(`${mode} is unreachable with the facility off`, () => { assert.equal(inMode(mode, { smf }), null); });
      continue;
    }
    for (const lev of [0, 1, 2] as const) {
      test(`sc ${lev} from ${mode} (E=${smf ? 1 : 0}) lands in ${targets[lev]}`, () => {
        const { cpu } = inMode(mode, { smf })!;
        const oldMsr = cpu.msr;
        const t = targets[lev];
        if (t === 'checkstop') { assert.throws(() => cpu.sc(lev, 0x2004), Checkstop); return; }
        cpu.sc(lev, 0x2004);
        assert.equal(cpu.regs.pc, 0xC00);
        const expectMode = t === 'same-kernel' ? ((oldMsr & MSR.S) ? 'secure-privileged' : 'privileged') : t;
        assert.equal(cpu.mode, expectMode);
        const [r0, r1] = PAIR[t]!;
        // Read the save/restore pair with the privilege of where we landed.
        assert.equal(cpu.mfspr(r0), 0x2004n);
        const srr1 = cpu.mfspr(r1);
        assert.equal((srr1 & SRR1_SC_LEV_MASK) >> SRR1_SC_LEV_SHIFT, BigInt(lev), 'SRR1 records the level');
        assert.equal(srr1 & (MSR.S | MSR.HV | MSR.PR), oldMsr & (MSR.S | MSR.HV | MSR.PR), 'SRR1 keeps the old privilege');
      });
    }
  }
}

const isProblem = (mode: string) => mode.endsWith('problem');

for (const mode of ALL_MODES) {
  test(`rfid from ${mode}: problem state faults; otherwise HV and S can be cleared, never set`, () => {
    for (const target of ALL_MODES) {
      const { cpu } = inMode(mode)!;
      if (isProblem(mode)) {
        assert.throws(() => cpu.rfid(), (e: unknown) => e instanceof HardwareInterrupt && e.vector === 0x700);
        continue;
      }
      cpu.mtspr(SPR.SRR0!, 0x4000n);
      cpu.mtspr(SPR.SRR1!, BASE_MSR | MODE_MSR[target]);
      const before = cpu.msr;
      cpu.rfid();
      const want = (BASE_MSR | MODE_MSR[target]) & ~((MSR.HV | MSR.S) & ~before);
      assert.equal(cpu.msr, want, `rfid ${mode} -> ${target}`);
      assert.equal(cpu.regs.pc, 0x4000);
    }
  });

  test(`hrfid from ${mode}: hypervisor states only, and it never sets MSR[S]`, () => {
    for (const target of ALL_MODES) {
      const { cpu } = inMode(mode)!;
      if (isProblem(mode)) { assert.throws(() => cpu.hrfid(), (e: unknown) => e instanceof HardwareInterrupt && e.vector === 0x700); continue; }
      if (!(cpu.msr & MSR.HV)) { assert.throws(() => cpu.hrfid(), (e: unknown) => e instanceof HardwareInterrupt && e.vector === 0xE40); continue; }
      cpu.mtspr(SPR.HSRR0!, 0x8000n);
      cpu.mtspr(SPR.HSRR1!, BASE_MSR | MODE_MSR[target]);
      const wasSecure = (cpu.msr & MSR.S) !== 0n;
      cpu.hrfid();
      assert.equal(cpu.regs.pc, 0x8000);
      if (!wasSecure) assert.equal(cpu.msr & MSR.S, 0n, `hrfid from ${mode} to ${target} must not set S`);
    }
  });

  test(`urfid from ${mode}: ultravisor only`, () => {
    for (const target of ALL_MODES) {
      const ctx = inMode(mode)!;
      const { cpu } = ctx;
      if (mode !== 'ultravisor') {
        assert.throws(() => cpu.urfid(), (e: unknown) => e instanceof HardwareInterrupt && e.vector === (isProblem(mode) ? 0x700 : 0xE40));
        continue;
      }
      cpu.mtspr(SPR.USRR0!, 0xC000n);
      cpu.mtspr(SPR.USRR1!, BASE_MSR | MODE_MSR[target]);
      cpu.urfid();
      assert.equal(cpu.mode, target);
      assert.equal(cpu.regs.pc, 0xC000);
    }
  });

  test(`mtmsrd from ${mode}: privileged, cannot change HV or S`, () => {
    const { cpu } = inMode(mode)!;
    if (isProblem(mode)) { assert.throws(() => cpu.mtmsrd(0n), (e: unknown) => e instanceof HardwareInterrupt && e.vector === 0x700); return; }
    const before = cpu.msr;
    cpu.mtmsrd(BASE_MSR | MSR.S | MSR.HV | MSR.EE);
    assert.equal(cpu.msr & (MSR.S | MSR.HV), before & (MSR.S | MSR.HV), 'S and HV unchanged when trying to set');
    cpu.mtmsrd(BASE_MSR | MSR.EE);
    assert.equal(cpu.msr & (MSR.S | MSR.HV), before & (MSR.S | MSR.HV), 'S and HV unchanged when trying to clear');
    assert.ok(cpu.msr & MSR.EE);
    cpu.mtmsrd(0n, 1); // L=1 moves only EE and RI
    assert.equal(cpu.msr & MSR.EE, 0n);
    assert.equal(cpu.msr & MSR.SF, MSR.SF, 'L=1 leaves SF alone');
  });
}
