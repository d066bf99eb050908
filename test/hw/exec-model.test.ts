// The execution model end to end on a bare machine: guest model code found by its magic in
// guest memory, a hypercall into a hypervisor flow that itself makes an ultracall, and the
// return path through urfid and hrfid back into the suspended flows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Machine } from '../../src/hw/machine.js';
import type { Cpu } from '../../src/hw/cpu/cpu.js';
import type { Flow, Software } from '../../src/hw/cpu/software.js';
import { buildIdentityPartition } from '../../src/hw/testing.js';
import { SPR } from '../../src/abi/spr.js';
import { MSR } from '../../src/abi/msr.js';

function setup() {
  const m = new Machine({ cpus: 1, controllers: [{ size: 64 << 20, secure: 16 << 20 }] });
  const cpu = m.cpus[0]!;
  const log: string[] = [];
  const uv: Software = {
    name: 'toy-uv',
    *enter(c: Cpu, pc: number): Flow {
      log.push(`uv enter 0x${pc.toString(16)} r3=0x${c.regs.getGpr(3).toString(16)}`);
      c.regs.setGpr(3, 0n);
      c.regs.setGpr(4, 0x1234n);
      yield { op: 'urfid' };
    },
  };
  const hv: Software = {
    name: 'toy-hv',
    *enter(c: Cpu, pc: number): Flow {
      log.push(`hv enter 0x${pc.toString(16)} r3=0x${c.regs.getGpr(3).toString(16)}`);
      const guestPc = c.mfspr(SPR.SRR0!);
      const guestMsr = c.mfspr(SPR.SRR1!);
      c.regs.setGpr(3, 0xF10Cn);
      yield { op: 'sc', lev: 2 };
      log.push(`hv resumed r4=0x${c.regs.getGpr(4).toString(16)}`);
      c.regs.setGpr(3, 0n);
      c.regs.setGpr(4, 42n);
      c.mtspr(SPR.HSRR0!, guestPc);
      c.mtspr(SPR.HSRR1!, guestMsr);
      yield { op: 'hrfid' };
    },
  };
  const guest = {
    magic: 'TOY-GUEST-KERNEL',
    create(): Software {
      return {
        name: 'toy-guest',
        *enter(c: Cpu): Flow {
          log.push(`guest start in ${c.mode}`);
          c.regs.setGpr(3, 0x300n);
          yield { op: 'sc', lev: 1 };
          log.push(`guest resumed r4=${c.regs.getGpr(4)} in ${c.mode}`);
          yield { op: 'stop', reason: 'done' };
        },
      };
    },
  };
  m.installUltravisor(uv);
  m.installHypervisor(hv);
  m.registerCode(guest);
  return { m, cpu, log, guest };
}

test('a guest hypercall reaches the hypervisor, whose ultracall reaches the ultravisor, and both return into the suspended flows', () => {
  const { m, cpu, log } = setup();
  const { frames } = buildIdentityPartition(m, cpu, 1, 1 << 20);
  // The guest's code: magic at its entry point, placed in guest memory at gpa 0x10000.
  m.host.write(frames[1]!, new TextEncoder().encode('\x40\x00\x00\x48TOY-GUEST-KERNEL'));
  // From ultravisor mode, enter the hypervisor, then the guest (leaving the UV with urfid).
  cpu.regs.pc = 0;
  m.lockBoot();
  assert.equal(cpu.mode, 'privileged');
  cpu.regs.pc = 0x10000;
  const r = m.run({ maxSteps: 100 });
  assert.equal(r.reason, 'halted');
  assert.deepEqual(log, [
    'guest start in privileged',
    'hv enter 0xc00 r3=0x300',
    'uv enter 0xc00 r3=0xf10c',
    'hv resumed r4=0x1234',
    'guest resumed r4=42 in privileged',
  ]);
});

test('hrfid cannot carry the hypervisor into secure mode: the S bit is dropped', () => {
  const { m, cpu } = setup();
  buildIdentityPartition(m, cpu, 1, 1 << 20);
  // Put the CPU in hypervisor mode via an interrupt from the guest: a program interrupt class 'hv'.
  cpu.deliver(0xE40, 0x10000);
  assert.equal(cpu.mode, 'hypervisor');
  cpu.mtspr(SPR.HSRR0!, 0x10000n);
  cpu.mtspr(SPR.HSRR1!, MSR.SF | MSR.LE | MSR.S);
  cpu.hrfid();
  assert.equal(cpu.secure, false);
  assert.equal(cpu.mode, 'privileged');
});

test('HDEC counts guest steps and preempts the guest into the hypervisor, even when it expires between guest steps', () => {
  const m = new Machine({ cpus: 1, controllers: [{ size: 64 << 20, secure: 16 << 20 }] });
  const cpu = m.cpus[0]!;
  const entries: number[] = [];
  let guestSteps = 0;
  m.installUltravisor({ name: 'uv', *enter(): Flow { yield { op: 'stop', reason: 'unexpected' }; } });
  m.installHypervisor({
    name: 'hv',
    *enter(c: Cpu, pc: number): Flow {
      entries.push(pc);
      if (pc === 0x980) { yield { op: 'stop', reason: 'preempted' }; return; }
      // A hypercall from the guest: arm HDEC on the first, then just go back.
      if (entries.length === 1) c.mtspr(SPR.HDEC!, 6n);
      c.mtspr(SPR.HSRR0!, c.mfspr(SPR.SRR0!));
      c.mtspr(SPR.HSRR1!, c.mfspr(SPR.SRR1!));
      yield { op: 'hrfid' };
    },
  });
  m.registerCode({
    magic: 'TOY-GUEST-KERNEL',
    create: () => ({
      name: 'spinner',
      *enter(c: Cpu): Flow {
        yield { op: 'sc', lev: 1 };
        // Every other guest step leaves the guest (a hypercall): HDEC may expire on such a step.
        for (;;) {
          guestSteps++; yield { op: 'mtmsrd', value: c.msr, l: 1 };
          guestSteps++; yield { op: 'sc', lev: 1 };
        }
      },
    }),
  });
  const { frames } = buildIdentityPartition(m, cpu, 1, 1 << 20);
  m.host.write(frames[1]!, new TextEncoder().encode('\x40\x00\x00\x48TOY-GUEST-KERNEL'));
  m.lockBoot();
  cpu.regs.pc = 0x10000;
  const r = m.run({ maxSteps: 1000 });
  assert.equal(r.reason, 'halted');
  assert.equal(entries[0], 0xC00);
  assert.equal(entries.at(-1), 0x980, 'preempted by HDEC');
  assert.ok(guestSteps >= 5 && guestSteps <= 8, `the guest ran ${guestSteps} steps on an HDEC of 6`);
  assert.equal(cpu.stopReason, 'preempted');
});
