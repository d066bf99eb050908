// The interpreter inside the machine: guest threads execute real machine code through the CPU's
// checked memory path and architected operations. Interrupts land where PEF's routing sends
// them, at the address of the instruction that raised them, with the privilege checks the
// hardware model makes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Machine } from '../../src/hw/machine.js';
import type { Cpu } from '../../src/hw/cpu/cpu.js';
import type { Flow, Software } from '../../src/hw/cpu/software.js';
import { buildIdentityPartition, enterMode } from '../../src/hw/testing.js';
import { encodePtcr } from '../../src/hw/mmu.js';
import { SPR } from '../../src/abi/spr.js';
import { MSR, SRR1_PROGRAM_PRIV, SRR1_SC_LEV_SHIFT } from '../../src/abi/msr.js';
import { assemble } from '../../src/hw/cpu/isa/asm.js';
import { createMachineInterpreter } from '../../src/hw/cpu/isa/machine.js';

interface Seen { who: 'hv' | 'os'; vector: number; srr0: bigint; srr1: bigint; r3: bigint; r4: bigint; hdar?: bigint }

/** A machine whose hypervisor and guest OS only record the interrupts they receive. */
function setup(cpus = 1, opts: { hcallReturns?: boolean } = {}) {
  const m = new Machine({ cpus, controllers: [{ size: 64 << 20, secure: 16 << 20 }] });
  const seen: Seen[] = [];
  const hv: Software = {
    name: 'recording-hv',
    *enter(c: Cpu, pc: number): Flow {
      const hsrr = pc === 0xc00 ? [SPR.SRR0!, SPR.SRR1!] : [SPR.HSRR0!, SPR.HSRR1!];
      const srr0 = c.mfspr(hsrr[0]!), srr1 = c.mfspr(hsrr[1]!);
      seen.push({ who: 'hv', vector: pc, srr0, srr1, r3: c.regs.getGpr(3), r4: c.regs.getGpr(4), hdar: c.mfspr(SPR.HDAR!) });
      if (pc === 0xc00 && opts.hcallReturns) {
        c.mtspr(SPR.HSRR0!, srr0); c.mtspr(SPR.HSRR1!, srr1);
        yield { op: 'hrfid' };
        return;
      }
      yield { op: 'stop', reason: `hv got 0x${pc.toString(16)}` };
    },
  };
  const os = {
    magic: 'RECORDING-OS-VECTOR',
    create(): Software {
      return {
        name: 'recording-os',
        *enter(c: Cpu, pc: number): Flow {
          seen.push({ who: 'os', vector: pc, srr0: c.mfspr(SPR.SRR0!), srr1: c.mfspr(SPR.SRR1!), r3: c.regs.getGpr(3), r4: c.regs.getGpr(4) });
          yield { op: 'stop', reason: `os got 0x${pc.toString(16)}` };
        },
      };
    },
  };
  m.installUltravisor({ name: 'uv', *enter(): Flow { yield { op: 'stop', reason: 'ultravisor entered' }; } });
  m.installHypervisor(hv);
  m.registerCode(os);
  const interp = createMachineInterpreter(1000);
  m.setInterpreter(interp);
  const cpu = m.cpus[0]!;
  // The partition's table is built from ultravisor mode, which leaves thread 0 in the guest.
  const { frames, ptab } = buildIdentityPartition(m, cpu, 1, 1 << 20);
  // The guest OS's interrupt vectors hold its magic (its code is a model flow).
  for (const v of [0x700, 0x800, 0xc00, 0xf20, 0xf40]) m.host.write(frames[0]! + v, new TextEncoder().encode('RECORDING-OS-VECTOR'));
  /** Assemble lines at a guest real address (the partition maps 1 MiB from frames[]). */
  const code = (gpa: number, lines: string[]) => {
    const b = new Uint8Array(4 * lines.length);
    const dv = new DataView(b.buffer);
    lines.forEach((l, i) => dv.setUint32(4 * i, assemble(l, gpa + 4 * i), true));
    m.host.write(frames[Math.floor(gpa / 65536)]! + (gpa % 65536), b);
  };
  return { m, cpu, seen, code, interp, frames, ptab };
}

/** From the guest's privileged state, go to (msr, pc) the architected way: SRR0/SRR1 and rfid. */
function enter(cpu: Cpu, msr: bigint, pc: number): void {
  cpu.mtspr(SPR.SRR0!, BigInt(pc));
  cpu.mtspr(SPR.SRR1!, msr);
  cpu.rfid();
}

const GUEST = MSR.SF | MSR.LE | MSR.ME;

test('privileged guest code runs on the interpreter and its hypercall (sc 1) reaches the hypervisor with its registers', () => {
  const { m, cpu, seen, code, interp } = setup();
  // sum of i*i for i = 1..100 with a CTR loop, then hcall with r3 = 0xdead, r4 = the sum.
  code(0x10000, ['addi r4,0,0', 'addi r5,0,1', 'addi r6,0,100', 'mtspr 9,r6',
    'mullw r7,r5,r5', 'add r4,r4,r7', 'addi r5,r5,1', 'bc 16,lt,.-12',
    'addis r3,0,0', 'ori r3,r3,57005', 'sc 1']);
  enter(cpu, GUEST, 0x10000);
  m.lockBoot();
  m.run({ maxSteps: 1000 });
  assert.equal(seen.length, 1);
  const s = seen[0]!;
  assert.equal(s.who, 'hv');
  assert.equal(s.vector, 0xc00);
  assert.equal(s.r3, 0xdeadn);
  assert.equal(s.r4, 338350n); // sum of squares 1..100
  assert.equal(s.srr0, 0x10000n + 4n * 11n, 'SRR0 is the instruction after sc');
  assert.equal((s.srr1 >> SRR1_SC_LEV_SHIFT) & 3n, 1n, 'SRR1 records sc level 1');
  assert.equal(interp.retired, 4 + 4 * 100 + 3);
});

test('problem-state code: sc 0 reaches the guest OS; mtmsrd and mfspr of a privileged SPR raise the program interrupt at the instruction', () => {
  for (const [line, vector, srr0, priv] of [
    ['sc 0', 0xc00, 0x20008, false],
    ['mtmsrd r3,0', 0x700, 0x20004, true],
    ['mfspr r3,26', 0x700, 0x20004, true],
  ] as const) {
    const { m, cpu, seen, code } = setup();
    code(0x20000, ['addi r3,0,77', line, 'b .']);
    enter(cpu, GUEST | MSR.PR, 0x20000);
    m.lockBoot();
    m.run({ maxSteps: 100 });
    assert.equal(seen.length, 1, line);
    assert.deepEqual([seen[0]!.who, seen[0]!.vector, seen[0]!.srr0, seen[0]!.r3], ['os', vector, BigInt(srr0), 77n], line);
    assert.equal((seen[0]!.srr1 & SRR1_PROGRAM_PRIV) !== 0n, priv, `${line}: SRR1 says privileged`);
    assert.ok((seen[0]!.srr1 & MSR.PR) !== 0n, 'SRR1 keeps the interrupted MSR[PR]');
  }
});

test('hypervisor state is out of a guest kernel\'s reach: mfspr HSRR0 and hrfid go to the hypervisor (0xE40)', () => {
  for (const line of ['mfspr r3,314', 'hrfid']) {
    const { m, cpu, seen, code } = setup();
    code(0x10000, ['addi r3,0,1', line]);
    enter(cpu, GUEST, 0x10000);
    m.lockBoot();
    m.run({ maxSteps: 100 });
    assert.deepEqual(seen.map((s) => [s.who, s.vector, s.srr0]), [['hv', 0xe40, 0x10004n]], line);
  }
});

test('facilities: FP, VMX and VSX instructions with their MSR bit off raise 0x800, 0xF20, 0xF40; with it on they run', () => {
  for (const [line, vector, bit] of [['fadd f1,f2,f3', 0x800, MSR.FP], ['vaddubm v1,v2,v3', 0xf20, MSR.VEC], ['xxlor vs1,vs2,vs3', 0xf40, MSR.VSX]] as const) {
    const { m, cpu, seen, code } = setup();
    code(0x10000, [line, 'addi r3,0,5', 'sc 1']);
    enter(cpu, GUEST, 0x10000);
    m.lockBoot();
    m.run({ maxSteps: 100 });
    assert.deepEqual(seen.map((s) => [s.who, s.vector, s.srr0]), [['os', vector, 0x10000n]], line);
    const on = setup();
    on.code(0x10000, [line, 'addi r3,0,5', 'sc 1']);
    enter(on.cpu, GUEST | bit, 0x10000);
    on.m.lockBoot();
    on.m.run({ maxSteps: 100 });
    assert.deepEqual(on.seen.map((s) => [s.who, s.vector, s.r3]), [['hv', 0xc00, 5n]], `${line} with the facility on`);
  }
});

test('a load from guest memory the partition does not map is an HDSI to the hypervisor at that instruction, HDAR = the address', () => {
  const { m, cpu, seen, code } = setup();
  code(0x10000, ['addis r4,0,64', 'lwz r3,8(r4)', 'sc 1']); // 0x400008: beyond the 1 MiB mapped
  enter(cpu, GUEST, 0x10000);
  m.lockBoot();
  m.run({ maxSteps: 100 });
  assert.deepEqual(seen.map((s) => [s.who, s.vector, s.srr0, s.hdar]), [['hv', 0xe00, 0x10004n, 0x400008n]]);
});

test('transactional memory is unavailable to the partition (HFSCR[TM]=0): tbegin. raises the hypervisor facility interrupt', () => {
  const { m, cpu, seen, code } = setup();
  code(0x10000, ['tbegin. 0', 'sc 1']);
  enter(cpu, GUEST | MSR.TM, 0x10000);
  m.lockBoot();
  m.run({ maxSteps: 100 });
  assert.deepEqual(seen.map((s) => [s.who, s.vector, s.srr0]), [['hv', 0xf80, 0x10000n]]);
});

test('code rewritten behind the interpreter\'s back (by the host) runs as written: fetches are checked, decodes keyed by word', () => {
  const { m, cpu, seen, code } = setup(1, { hcallReturns: true });
  code(0x10000, ['addi r3,0,1', 'sc 1', 'b .-8']);
  enter(cpu, GUEST, 0x10000);
  m.lockBoot();
  m.run({ until: () => seen.length >= 1, maxSteps: 1000 });
  code(0x10000, ['addi r3,0,2']);
  m.run({ until: () => seen.length >= 2, maxSteps: 1000 });
  assert.deepEqual(seen.map((s) => s.r3), [1n, 2n]);
});

test('runs are bounded: two threads in endless loops both make progress, interleaved by the machine', () => {
  const { m, code, interp, ptab } = setup(2);
  code(0x10000, ['addi r3,r3,1', 'b .-4']);
  for (const c of m.cpus) c.regs.setGpr(3, 0n);
  enter(m.cpus[0]!, GUEST, 0x10000);
  // Thread 1 (still in ultravisor mode) joins the same partition and code.
  const t1 = m.cpus[1]!;
  t1.mtspr(SPR.PTCR!, encodePtcr(ptab, 4));
  t1.mtspr(SPR.LPIDR!, 1n);
  enterMode(t1, GUEST, 0x10000);
  m.lockBoot();
  const r = m.run({ maxSteps: 20 });
  assert.equal(r.reason, 'max-steps');
  const n0 = Number(m.cpus[0]!.regs.getGpr(3)), n1 = Number(t1.regs.getGpr(3));
  assert.ok(n0 > 0 && n1 > 0, `both threads ran (${n0}, ${n1})`);
  // Each iteration is two instructions (a thread may have stopped between them).
  assert.ok(Math.abs(interp.retired - 2 * (n0 + n1)) <= 2, 'every retired instruction is one of theirs');
  assert.ok(n0 <= 10 * 1000 && n1 <= 10 * 1000, 'no step ran more than the budget');
});
