// Property: random sequences of architected operations by non-ultravisor software
// (instructions, SPR writes, loads and stores, DMA, interrupts) never reach MSR[S]=1 and never
// read or change a byte of secure memory. The ultravisor here is minimal and honest: on entry it
// returns at once with urfid, as a real one refusing an unknown ultracall would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Machine } from '../../src/hw/machine.js';
import { SECURE_BIT, FRAME_SIZE } from '../../src/hw/memory.js';
import { HardwareInterrupt, MachineCheck } from '../../src/hw/faults.js';
import { SPRS, SPR } from '../../src/abi/spr.js';
import { VECTORS } from '../../src/abi/interrupts.js';
import { MSR } from '../../src/abi/msr.js';
import { buildIdentityPartition } from '../../src/hw/testing.js';

const MAGIC = 0x5ec0_5ec0_cafe_d00dn;
const MAGIC_BYTES = (() => { const b = Buffer.alloc(8); b.writeBigUInt64LE(MAGIC); return b; })();

type Op =
  | { k: 'mtspr'; n: number; v: bigint } | { k: 'mfspr'; n: number }
  | { k: 'sc'; lev: 0 | 1 | 2 } | { k: 'rfid' } | { k: 'hrfid' } | { k: 'urfid' }
  | { k: 'mtmsrd'; v: bigint; l: 0 | 1 }
  | { k: 'load'; a: number } | { k: 'store'; a: number; v: bigint }
  | { k: 'dmaRead'; a: number } | { k: 'dmaWrite'; a: number; v: number }
  | { k: 'hostWrite'; a: number; v: number }
  | { k: 'deliver'; vec: number } | { k: 'tlbie' };

function setup() {
  const m = new Machine({ cpus: 2, controllers: [{ size: 1 << 20, secure: 2 * FRAME_SIZE }, { size: 1 << 20, secure: FRAME_SIZE }] });
  const [cpu, verifier] = [m.cpus[0]!, m.cpus[1]!];
  // The honest ultravisor fills every secure frame but the partition table with the magic.
  const secureFrames: number[] = [];
  for (const r of m.secureRanges()) for (let a = r.start; a < r.start + r.size; a += FRAME_SIZE) secureFrames.push(a);
  buildIdentityPartition(m, cpu, 1, 4 * FRAME_SIZE); // partition table in the first secure frame
  const patterned = secureFrames.slice(1);
  const page = Buffer.alloc(FRAME_SIZE);
  for (let i = 0; i < FRAME_SIZE; i += 8) MAGIC_BYTES.copy(page, i);
  for (const f of patterned) verifier.write(f, page);
  // cpu 0 left the ultravisor for the guest; an emulation-assistance interrupt puts it in the hypervisor.
  cpu.deliver(0xE40, 0);
  return { m, cpu, verifier, patterned, page, ptab: secureFrames[0]! };
}

const addrArb = fc.oneof(
  fc.integer({ min: 0, max: (2 << 20) - 8 }),                                  // normal real (and guest) addresses
  fc.integer({ min: 0, max: (2 << 20) - 8 }).map((a) => SECURE_BIT + a),       // secure-bit addresses
  fc.constantFrom(0x10000, 0x20000, 0x30000),                                  // mapped guest pages
  fc.integer({ min: 0, max: 2 ** 40 }),                                        // garbage
);
const sprArb = fc.oneof(fc.constantFrom(...SPRS.map((s) => s.num)), fc.integer({ min: 0, max: 1023 }));
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ k: fc.constant('mtspr' as const), n: sprArb, v: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) }),
  fc.record({ k: fc.constant('mfspr' as const), n: sprArb }),
  fc.record({ k: fc.constant('sc' as const), lev: fc.constantFrom(0 as const, 1 as const, 2 as const) }),
  fc.constant({ k: 'rfid' as const }), fc.constant({ k: 'hrfid' as const }), fc.constant({ k: 'urfid' as const }),
  fc.record({ k: fc.constant('mtmsrd' as const), v: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), l: fc.constantFrom(0 as const, 1 as const) }),
  fc.record({ k: fc.constant('load' as const), a: addrArb }),
  fc.record({ k: fc.constant('store' as const), a: addrArb, v: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) }),
  fc.record({ k: fc.constant('dmaRead' as const), a: addrArb }),
  fc.record({ k: fc.constant('dmaWrite' as const), a: addrArb, v: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ k: fc.constant('hostWrite' as const), a: addrArb, v: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ k: fc.constant('deliver' as const), vec: fc.constantFrom(...VECTORS.map((v) => v.vector)) }),
  fc.constant({ k: 'tlbie' as const }),
);

function apply(s: ReturnType<typeof setup>, op: Op, leaked: { v: boolean }) {
  const { m, cpu } = s;
  const read8 = (v: bigint) => { if (v === MAGIC) leaked.v = true; };
  switch (op.k) {
    case 'mtspr': cpu.mtspr(op.n, op.v); break;
    case 'mfspr': cpu.mfspr(op.n); break;
    case 'sc': cpu.sc(op.lev, cpu.regs.pc + 4); break;
    case 'rfid': cpu.rfid(); break;
    case 'hrfid': cpu.hrfid(); break;
    case 'urfid': cpu.urfid(); break;
    case 'mtmsrd': cpu.mtmsrd(op.v, op.l); break;
    case 'load': read8(cpu.load64(op.a)); break;
    case 'store': cpu.store64(op.a, op.v); break;
    case 'dmaRead': { const b = Buffer.from(m.dma.read(op.a, 8)); read8(b.readBigUInt64LE()); break; }
    case 'dmaWrite': m.dma.write(op.a, new Uint8Array([op.v])); break;
    case 'hostWrite': m.host.write(op.a, new Uint8Array([op.v])); break;
    case 'deliver': cpu.deliver(op.vec, cpu.regs.pc); break;
    case 'tlbie': cpu.tlbie(); break;
  }
}

test('no sequence of non-ultravisor operations reaches MSR[S]=1 or touches secure memory (10,000 sequences)', () => {
  let steps = 0;
  fc.assert(fc.property(fc.array(opArb, { minLength: 1, maxLength: 24 }), (ops) => {
    const s = setup();
    const { cpu, verifier, patterned, page } = s;
    assert.equal(cpu.mode, 'hypervisor');
    const leaked = { v: false };
    for (const op of ops) {
      try { apply(s, op, leaked); } catch (e) {
        if (!(e instanceof HardwareInterrupt)) throw e;
        // A refused operation raises its interrupt, as the CPU loop would deliver it.
        if (!(e instanceof MachineCheck) && !cpu.isUltravisor) cpu.deliver(e.vector, cpu.regs.pc, e.srr1Bits);
      }
      steps++;
      if (cpu.isUltravisor) {
        // The honest ultravisor answers and returns where it was called from, in that state.
        const usrr1 = cpu.mfspr(SPR.USRR1!);
        assert.equal(usrr1 & MSR.S, 0n, 'nothing non-secure enters the ultravisor claiming S');
        cpu.regs.setGpr(3, -2n & 0xffff_ffff_ffff_ffffn);
        cpu.urfid();
      }
      assert.equal(cpu.secure, false, `MSR[S] set after ${op.k}`);
      assert.equal(leaked.v, false, `secure bytes returned by ${op.k}`);
    }
    for (const f of patterned) assert.ok(Buffer.from(verifier.read(f, FRAME_SIZE)).equals(page), `secure frame 0x${f.toString(16)} changed`);
  }), { numRuns: 10_000 });
  assert.ok(steps > 10_000);
});

test('control: the same checks catch a leak when the secure bit is not enforced', () => {
  // Use the ultravisor (S=1) as the "attacker" to show the magic is detectable by the load check.
  const s = setup();
  const leaked = { v: false };
  apply({ ...s, cpu: s.verifier }, { k: 'load', a: s.patterned[0]! }, leaked);
  assert.equal(leaked.v, true);
});
