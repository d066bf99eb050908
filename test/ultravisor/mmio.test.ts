// MMIO from an SVM (PEF.md section 7): real instructions, run by the ISA interpreter in secure
// mode, load and store at a device address outside every memory slot. The ultravisor decodes
// the instruction from the SVM's secure memory and does the access with H_LOGICAL_CI_LOAD/STORE;
// the hypervisor sees the size, the address and a store's value, nothing else. Every access it
// does not emulate (FP, update forms, user space, a misaligned or mismatched address, a
// TypeScript flow's access, a failed hypercall) is a DSI in the SVM, each with its control.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HC } from '../../src/abi/hcalls.js';
import { MSR } from '../../src/abi/msr.js';
import { SPR } from '../../src/abi/spr.js';
import { H } from '../../src/abi/retcodes.js';
import { assemble } from '../../src/hw/cpu/isa/asm.js';
import { createMachineInterpreter } from '../../src/hw/cpu/isa/machine.js';
import { retrying } from '../../src/hw/cpu/retry.js';
import type { Cpu } from '../../src/hw/cpu/cpu.js';
import type { Op } from '../../src/hw/cpu/software.js';
import { call, type GuestCtx } from './guest.js';
import { makeRig, type Rig } from './rig.js';
import type { SeenFrame } from './mini-hv.js';

/** The device: a virtio-mmio-like register window far outside the SVM's 16 MiB slot. */
const DEV = 0x20000000;
const DEV_SIZE = 0x200;
/** Where the SVM's kernel puts the instructions (a secure page of its slot). */
const CODE = 0x500000;
const MAGIC = 0x74726976; // "virt"

const CAN = 0xc0ffee0000000000n;
const canary = (i: number) => CAN + BigInt(i);
const isCanary = (v: bigint) => (v & 0xffffff0000000000n) === CAN;
const VSR_CANARY = 0xc0ffee99;

interface CiCall { nr: number; size: number; addr: number; value?: bigint }
interface AtVector { vector: number; srr0: bigint; dar: bigint; dsisr: bigint; gprs: bigint[] }

/** Registers little-endian in a byte array, as a device's register file holds them. */
class FakeDevice {
  readonly bytes = new Uint8Array(DEV_SIZE);
  readonly dv = new DataView(this.bytes.buffer);
  constructor() {
    this.dv.setUint32(0x00, MAGIC, true);
    this.dv.setUint32(0x04, 2, true); // version
    this.dv.setUint32(0x08, 1, true); // device id
    this.dv.setUint32(0x0c, 0x554d4551, true); // vendor id
    this.dv.setUint32(0x20, 0xfffffff0, true); // a negative word, for the sign-extending loads
  }
  read(off: number, size: number): bigint {
    let v = 0n;
    for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(this.bytes[off + i]!);
    return v;
  }
  write(off: number, size: number, v: bigint): void {
    for (let i = 0; i < size; i++) { this.bytes[off + i] = Number(v & 0xffn); v >>= 8n; }
  }
}

interface Run {
  r: Rig;
  ci: CiCall[];
  at: AtVector[];
  dev: FakeDevice;
  /** The hypervisor's frames for the CI hypercalls. */
  frames: SeenFrame[];
}

interface Opts {
  /** Registers the code starts with (others hold canaries). */
  regs?: Record<number, bigint>;
  /** MSR bits to add for the code (FP, PR). */
  msr?: bigint;
  /** The hypervisor's status for the CI hypercalls (default H_SUCCESS). */
  hvRc?: number;
  /** Instead of running code, the kernel's own TypeScript flow touches the device. */
  flow?: (g: GuestCtx) => Generator<Op, void, void>;
  /** Between the HDSI and the ultravisor's handling of it (once, with the cpu in ultravisor mode at 0xE00). */
  atFault?: (cpu: Cpu) => void;
}

/** Plant canaries in every GPR and the VSX registers (the code's inputs are set afterwards). */
function plant(cpu: Cpu, regs: Record<number, bigint>): void {
  for (let i = 0; i < 32; i++) cpu.regs.setGpr(i, canary(i));
  cpu.regs.vsr32.fill(VSR_CANARY);
  for (const [n, v] of Object.entries(regs)) cpu.regs.setGpr(Number(n), v);
}

/** Boot an SVM whose kernel runs `lines` (assembled at CODE) in secure mode; `sc 0` or a DSI ends it. */
function runCode(lines: string[], o: Opts = {}): Run {
  const ci: CiCall[] = [];
  const at: AtVector[] = [];
  const dev = new FakeDevice();
  const code = new Uint8Array(4 * lines.length);
  lines.forEach((l, i) => new DataView(code.buffer).setUint32(4 * i, assemble(l, CODE + 4 * i), true));
  const r = makeRig({
    interpreter: createMachineInterpreter(),
    guest: {
      *secure(g) {
        if (o.flow) { yield* o.flow(g); return; }
        yield* retrying(() => g.cpu.write(CODE, code));
        plant(g.cpu, { 9: BigInt(DEV), ...o.regs });
        g.cpu.mtspr(SPR.SRR0!, BigInt(CODE));
        g.cpu.mtspr(SPR.SRR1!, g.cpu.msr | (o.msr ?? 0n));
        yield { op: 'rfid' };
      },
      *vector(g, vector) {
        at.push({
          vector, srr0: g.cpu.mfspr(SPR.SRR0!), dar: g.cpu.mfspr(SPR.DAR!), dsisr: g.cpu.mfspr(SPR.DSISR!),
          gprs: Array.from({ length: 32 }, (_, i) => g.cpu.regs.getGpr(i)),
        });
        yield { op: 'stop', reason: `vector 0x${vector.toString(16)}` };
      },
    },
  });
  r.hv.hooks.hcall = function* (c) {
    if (c.nr !== HC.H_LOGICAL_CI_LOAD && c.nr !== HC.H_LOGICAL_CI_STORE) return undefined;
    const size = Number(c.args[0]!), addr = Number(c.args[1]!);
    const store = c.nr === HC.H_LOGICAL_CI_STORE;
    ci.push({ nr: c.nr, size, addr, ...(store ? { value: c.args[2]! } : {}) });
    yield* [];
    if (o.hvRc !== undefined && o.hvRc !== H.H_SUCCESS) return { rc: o.hvRc };
    if (addr < DEV || addr + size > DEV + DEV_SIZE) return { rc: H.H_PARAMETER };
    if (store) { dev.write(addr - DEV, size, c.args[2]!); return { rc: H.H_SUCCESS }; }
    return { rc: H.H_SUCCESS, out: [dev.read(addr - DEV, size)] };
  };
  if (o.atFault) {
    const cpu = r.m.cpus[0]!;
    const urmor = Number(cpu.mfspr(SPR.URMOR!));
    r.m.run({ maxSteps: 2_000_000, until: () => cpu.mode === 'ultravisor' && cpu.regs.pc === urmor + 0xE00 && cpu.mfspr(SPR.HDAR!) === BigInt(DEV) });
    o.atFault(cpu);
  }
  r.run();
  const frames = r.hv.seen.filter((f) => f.vector === 0xC00 && (f.gprs[3] === BigInt(HC.H_LOGICAL_CI_LOAD) || f.gprs[3] === BigInt(HC.H_LOGICAL_CI_STORE)));
  return { r, ci, at, dev, frames };
}

const LOAD = HC.H_LOGICAL_CI_LOAD, STORE = HC.H_LOGICAL_CI_STORE;

test('loads and stores to a device address from SVM machine code are done through H_LOGICAL_CI_LOAD/STORE', () => {
  const lines = [
    'lwz r10,0(r9)', // MagicValue
    'lbz r11,1(r9)',
    'lhz r12,4(r9)', // Version
    'ld r13,8(r9)', // DeviceID | VendorID << 32
    'lwzx r15,r9,r14', // VendorID (r14 = 0xc)
    'lhbrx r16,r9,r14',
    'lwa r17,32(r9)', // 0xfffffff0, sign-extended
    'ldbrx r18,r9,r19', // r19 = 8
    'stb r20,112(r9)', // Status
    'sth r21,48(r9)',
    'stw r22,64(r9)',
    'std r23,128(r9)',
    'stwx r24,r9,r25', // r25 = 0x90
    'stwbrx r26,r9,r27', // r27 = 0x94
    'sc 0',
  ];
  const regs = {
    14: 0xcn, 19: 8n, 20: 0x1234567f_0000000fn, 21: 0xaaaa_bbbb_cccc_1234n, 22: 0x11111111_deadbeefn,
    23: 0x0102030405060708n, 24: 0xffffffff_cafef00dn, 25: 0x90n, 26: 0x9999_0000_11223344n, 27: 0x94n,
  };
  const { r, ci, at, dev, frames } = runCode(lines, { regs });
  assert.equal(at.length, 1, r.log.join('\n'));
  const end = at[0]!;
  assert.equal(end.vector, 0xc00, 'no DSI: every access was emulated and the code went on to its sc 0');
  assert.equal(end.srr0, BigInt(CODE + 4 * lines.length), 'each emulated instruction resumed at PC+4');
  const g = end.gprs;
  assert.equal(g[10], BigInt(MAGIC));
  assert.equal(g[11], 0x69n);
  assert.equal(g[12], 2n);
  assert.equal(g[13], 0x554d4551_00000001n);
  assert.equal(g[15], 0x554d4551n);
  assert.equal(g[16], 0x5145n, 'lhbrx reverses the halfword');
  assert.equal(g[17], 0xfffffffffffffff0n, 'lwa sign-extends');
  assert.equal(g[18], 0x01000000_51454d55n, 'ldbrx reverses the doubleword');
  // Registers the code did not write kept their values across every emulation.
  for (const i of [0, 1, 2, 28, 29, 30, 31]) assert.equal(g[i], canary(i), `r${i}`);
  assert.equal(g[9], BigInt(DEV));
  // The stores reached the device.
  assert.equal(dev.read(112, 1), 0x0fn);
  assert.equal(dev.read(48, 2), 0x1234n);
  assert.equal(dev.read(64, 4), 0xdeadbeefn);
  assert.equal(dev.read(128, 8), 0x0102030405060708n);
  assert.equal(dev.read(0x90, 4), 0xcafef00dn);
  assert.equal(dev.read(0x94, 4), 0x44332211n, 'stwbrx stores the word reversed');
  // The hypervisor saw exactly these hypercalls, with the size, the address and the stored value.
  assert.deepEqual(ci, [
    { nr: LOAD, size: 4, addr: DEV }, { nr: LOAD, size: 1, addr: DEV + 1 }, { nr: LOAD, size: 2, addr: DEV + 4 },
    { nr: LOAD, size: 8, addr: DEV + 8 }, { nr: LOAD, size: 4, addr: DEV + 0xc }, { nr: LOAD, size: 2, addr: DEV + 0xc },
    { nr: LOAD, size: 4, addr: DEV + 32 }, { nr: LOAD, size: 8, addr: DEV + 8 },
    { nr: STORE, size: 1, addr: DEV + 112, value: 0x0fn }, { nr: STORE, size: 2, addr: DEV + 48, value: 0x1234n },
    { nr: STORE, size: 4, addr: DEV + 64, value: 0xdeadbeefn }, { nr: STORE, size: 8, addr: DEV + 128, value: 0x0102030405060708n },
    { nr: STORE, size: 4, addr: DEV + 0x90, value: 0xcafef00dn }, { nr: STORE, size: 4, addr: DEV + 0x94, value: 0x44332211n },
  ]);
  // ... and nothing else of the SVM: the frame is the scrubbed one, the PC a cookie.
  assert.equal(frames.length, ci.length);
  frames.forEach((f, k) => {
    const inputs = ci[k]!.nr === STORE ? [3, 4, 5, 6] : [3, 4, 5];
    const leaked = f.gprs.flatMap((v, i) => (!inputs.includes(i) && (isCanary(v) || v === BigInt(DEV) || Object.values(regs).includes(v)) ? [`r${i}`] : []));
    assert.deepEqual(leaked, [], `frame ${k}`);
    assert.ok(f.vsr.every((w) => w === 0), 'FP/VSX cleared');
    assert.equal(f.srr0, f.gprs[31]);
    assert.equal(f.hsrr0, f.gprs[31]);
    assert.ok(f.srr0 < BigInt(CODE) || f.srr0 >= BigInt(CODE + 4 * lines.length), 'the PC is not shown');
    assert.equal(f.srr1 & MSR.S, MSR.S);
    assert.equal(f.lpid, r.vm.lpid, 'LPIDR names the SVM');
  });
  // Random, not just different from the SVM's: two frames share (almost) no non-input register.
  const same = [0, 1, 2, ...Array.from({ length: 24 }, (_, i) => i + 7)].filter((i) => frames[0]!.gprs[i] === frames[1]!.gprs[i]);
  assert.ok(same.length <= 1, `${same.length} equal registers`);
});

test('control: the canary check sees a normal VM\'s registers in its own H_LOGICAL_CI_LOAD', () => {
  const r = makeRig({
    guest: {
      *normal(g) {
        plant(g.cpu, {});
        yield* call(g.cpu, 1, LOAD, 4, DEV);
        yield { op: 'stop', reason: 'done' };
      },
    },
  });
  r.run();
  const f = r.hv.seen.find((x) => x.gprs[3] === BigInt(LOAD))!;
  assert.ok(f);
  assert.ok(f.gprs.filter((v, i) => i > 5 && isCanary(v)).length >= 25);
});

/** The one-instruction runs below: did the access reach the hypervisor, or was it a DSI? */
function outcome(x: Run): { vector: number; srr0: number; dar: number; ci: number } {
  assert.equal(x.at.length, 1, x.r.log.join('\n'));
  const a = x.at[0]!;
  return { vector: a.vector, srr0: Number(a.srr0), dar: a.vector === 0x300 ? Number(a.dar) : 0, ci: x.ci.length };
}
const EMULATED = { vector: 0xc00, srr0: CODE + 8, dar: 0, ci: 1 };
const DSI = { vector: 0x300, srr0: CODE, dar: DEV, ci: 0 };

test('control for the refusals below: the plain load is emulated', () => {
  const x = runCode(['lwz r10,0(r9)', 'sc 0']);
  assert.deepEqual(outcome(x), EMULATED);
  assert.equal(x.at[0]!.gprs[10], BigInt(MAGIC));
});

test('a floating-point load from the device address is a DSI (never sent to the hypervisor)', () => {
  assert.deepEqual(outcome(runCode(['lfd f1,0(r9)', 'sc 0'], { msr: MSR.FP })), DSI);
  // Control: with the same MSR, an integer load is emulated.
  assert.deepEqual(outcome(runCode(['lwz r10,0(r9)', 'sc 0'], { msr: MSR.FP })), EMULATED);
});

test('update forms are a DSI, and RA keeps its value', () => {
  const x = runCode(['lwzu r10,0(r9)', 'sc 0']);
  assert.deepEqual(outcome(x), DSI);
  assert.equal(x.at[0]!.gprs[9], BigInt(DEV));
  assert.deepEqual(outcome(runCode(['stwu r10,0(r9)', 'sc 0'])), DSI);
  assert.deepEqual(outcome(runCode(['stw r10,0(r9)', 'sc 0'])), EMULATED);
});

test('a misaligned device access is a DSI; the aligned one next to it is emulated', () => {
  assert.deepEqual(outcome(runCode(['lwz r10,2(r9)', 'sc 0'])), { ...DSI, dar: DEV + 2 });
  assert.deepEqual(outcome(runCode(['lhz r10,2(r9)', 'sc 0'])), EMULATED);
});

test('an access whose effective address is not the fault address (HDAR) is a DSI', () => {
  const hdar = BigInt(DEV + 0x70);
  const x = runCode(['lwz r10,0(r9)', 'sc 0'], { atFault: (cpu) => cpu.mtspr(SPR.HDAR!, hdar) });
  assert.deepEqual(outcome(x), { ...DSI, dar: DEV + 0x70 });
  // Control: the same run, HDAR left as the hardware set it.
  assert.deepEqual(outcome(runCode(['lwz r10,0(r9)', 'sc 0'], { atFault: () => undefined })), EMULATED);
});

test('user space touching the device address gets a DSI in its kernel', () => {
  assert.deepEqual(outcome(runCode(['lwz r10,0(r9)', 'sc 0'], { msr: MSR.PR })), DSI);
  // Control: the same code in the kernel (PR=0) is emulated.
  assert.deepEqual(outcome(runCode(['lwz r10,0(r9)', 'sc 0'])), EMULATED);
});

test('a failed H_LOGICAL_CI_LOAD is a DSI at the instruction, the register untouched', () => {
  const x = runCode(['lwz r10,0(r9)', 'sc 0'], { hvRc: H.H_PARAMETER });
  assert.deepEqual(outcome(x), { ...DSI, ci: 1 });
  assert.equal(x.at[0]!.gprs[10], canary(10));
  assert.equal(x.at[0]!.dsisr, 0x40000000n, 'DSISR: the HDSISR of the load');
});

test('a TypeScript flow\'s own access to the device address is still a DSI (its PC is no instruction)', () => {
  const x = runCode([], {
    *flow(g) {
      yield* [];
      g.out.v = g.cpu.load32(DEV); // escapes: the flow is dropped and the HDSI delivered at its token address
    },
  });
  const a = x.at[0]!;
  assert.equal(x.at.length, 1, x.r.log.join('\n'));
  assert.equal(a.vector, 0x300);
  assert.equal(a.dar, BigInt(DEV));
  assert.equal(x.ci.length, 0);
  assert.equal(x.r.out.v, undefined);
});
