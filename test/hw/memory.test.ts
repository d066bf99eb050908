// Loads, stores and DMA on secure frames from every non-secure mode are refused by the
// hardware (a machine check with the address, no data, the refusal traced); the same access
// with MSR[S]=1 succeeds (the control). The split is fixed at boot.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MachineCheck, LockedError } from '../../src/hw/faults.js';
import { SECURE_BIT, FRAME_SIZE } from '../../src/hw/memory.js';
import { encodeDir, encodePate0, encodePte, encodePtcr, entryBytes, gfnIndex, PATE_SIZE } from '../../src/hw/mmu.js';
import { SPR } from '../../src/abi/spr.js';
import { MSR } from '../../src/abi/msr.js';
import { enterMode, FrameAllocator } from '../../src/hw/testing.js';
import { SCOM_MCD_SECURE_BASE } from '../../src/hw/scom.js';
import { BASE_MSR, smallMachine } from './helpers.js';
import { Machine } from '../../src/hw/machine.js';
import type { Cpu } from '../../src/hw/cpu/cpu.js';

const SECRET = new TextEncoder().encode('secure-canary-0123456789abcdef');

/** From ultravisor mode: plant a secret in a secure frame and map guest gpa 0x10000 to it for lpid 1. */
function plant(m: Machine, cpu: Cpu, tablesSecure: boolean) {
  const sec = new FrameAllocator(m.secureRanges());
  const nor = new FrameAllocator(m.normalRanges());
  const secretFrame = sec.alloc();
  cpu.write(secretFrame, SECRET);
  const ptab = sec.alloc();
  cpu.mtspr(SPR.PTCR!, encodePtcr(ptab, 4));
  const t = tablesSecure ? sec : nor;
  const root = t.alloc();
  const dir = t.alloc();
  cpu.write(ptab + 1 * PATE_SIZE, entryBytes(encodePate0(root)));
  const { l1, l2 } = gfnIndex(0x10000);
  cpu.write(root + l1 * 8, entryBytes(encodeDir(dir)));
  cpu.write(dir + l2 * 8, entryBytes(encodePte(secretFrame)));
  cpu.mtspr(SPR.LPIDR!, 1n);
  return { secretFrame };
}

const refused = (e: unknown) => e instanceof MachineCheck;

test('the hypervisor cannot load or store a secure frame; the ultravisor can (control)', () => {
  const m = smallMachine();
  const cpu = m.cpus[0]!;
  const { secretFrame } = plant(m, cpu, false);
  assert.deepEqual(cpu.read(secretFrame, SECRET.length), SECRET, 'control: the ultravisor reads it');
  const rec = m.trace.record((e) => e.kind === 'refused');
  enterMode(cpu, BASE_MSR | MSR.HV, 0);
  assert.equal(cpu.mode, 'hypervisor');
  assert.throws(() => cpu.load32(secretFrame), refused);
  assert.throws(() => cpu.read(secretFrame, 16), refused);
  assert.throws(() => cpu.store32(secretFrame, 0xdeadbeef), refused);
  assert.throws(() => cpu.load32(secretFrame - SECURE_BIT), refused, 'nor without the secure bit');
  rec.stop();
  assert.ok(rec.events.length >= 4);
  assert.ok(rec.events.every((e) => typeof e.address === 'string'), 'each refusal carries the address');
});

for (const mode of ['privileged', 'problem'] as const) {
  test(`a normal guest (${mode}) whose table maps a secure frame is refused; an SVM with the same mapping reads it (control)`, () => {
    const m = smallMachine();
    const cpu = m.cpus[0]!;
    plant(m, cpu, false);
    enterMode(cpu, BASE_MSR | (mode === 'problem' ? MSR.PR : 0n), 0);
    assert.throws(() => cpu.load32(0x10000), refused);
    assert.throws(() => cpu.store32(0x10000, 1), refused);
  });
}

test('an SVM (S=1) reaches the secure frame through its table (control for the test above)', () => {
  const m = smallMachine();
  const cpu = m.cpus[0]!;
  plant(m, cpu, true);
  enterMode(cpu, BASE_MSR | MSR.S, 0);
  assert.equal(cpu.mode, 'secure-privileged');
  assert.deepEqual(cpu.read(0x10000, SECRET.length), SECRET);
  cpu.store32(0x10000, 0x41414141);
  assert.equal(cpu.load32(0x10000), 0x41414141);
});

test('a normal guest cannot walk page tables that sit in secure memory', () => {
  const m = smallMachine();
  const cpu = m.cpus[0]!;
  plant(m, cpu, true);
  enterMode(cpu, BASE_MSR, 0);
  assert.throws(() => cpu.load32(0x10000), (e: unknown) => e instanceof MachineCheck && e.access === 'walk');
});

test('DMA and the host port are refused on secure frames and work on normal ones (control)', () => {
  const m = smallMachine();
  const cpu = m.cpus[0]!;
  const { secretFrame } = plant(m, cpu, false);
  assert.throws(() => m.dma.read(secretFrame, 8), refused);
  assert.throws(() => m.dma.write(secretFrame, new Uint8Array(8)), refused);
  assert.throws(() => m.host.read(secretFrame, 8), refused);
  const normal = m.normalRanges()[0]!.start + 5 * FRAME_SIZE;
  m.dma.write(normal, SECRET);
  assert.deepEqual(m.host.read(normal, SECRET.length), SECRET);
  assert.deepEqual(cpu.read(secretFrame, SECRET.length), SECRET, 'the secret is intact');
});

test('the secure split is locked at boot: reconfiguring, or writing the controllers\' SCOM registers, fails loudly', () => {
  const m = smallMachine();
  const cpu = m.cpus[0]!;
  m.configureSecureMemory([{ size: 32 << 20, secure: 16 << 20 }, { size: 32 << 20, secure: 0 }]);
  assert.equal(m.secureSize, 16 << 20);
  cpu.scomWrite(0, SCOM_MCD_SECURE_BASE, 1n); // before boot: allowed
  m.lockBoot();
  assert.throws(() => m.configureSecureMemory([{ size: 32 << 20, secure: 0 }, { size: 32 << 20, secure: 0 }]), LockedError);
  assert.throws(() => cpu.scomWrite(0, SCOM_MCD_SECURE_BASE + 1, 0n), LockedError);
  assert.equal(m.secureSize, 16 << 20);
});

test('SCOM is reachable only from ultravisor mode', () => {
  const m = smallMachine();
  const cpu = m.cpus[0]!;
  cpu.scomWrite(0, 0x1234, 7n);
  assert.equal(cpu.scomRead(0, 0x1234), 7n);
  enterMode(cpu, BASE_MSR | MSR.HV, 0);
  assert.throws(() => cpu.scomRead(0, 0x1234), refused);
});

test('darn gives distinct 64-bit values from any mode', () => {
  const m = smallMachine();
  const cpu = m.cpus[0]!;
  enterMode(cpu, BASE_MSR | MSR.PR, 0);
  const seen = new Set<bigint>();
  for (let i = 0; i < 1000; i++) seen.add(cpu.darn());
  assert.equal(seen.size, 1000);
});

test('a 64 GiB machine costs only the frames it touches', () => {
  const before = process.memoryUsage().rss;
  const m = new Machine({ cpus: 4, controllers: [{ size: 32 * 2 ** 30, secure: 8 * 2 ** 30 }, { size: 32 * 2 ** 30, secure: 8 * 2 ** 30 }] });
  const n = m.normalRanges()[0]!;
  for (let i = 0; i < 10; i++) m.host.write(n.start + i * 997 * FRAME_SIZE, new Uint8Array([i + 1]));
  assert.equal(m.residentFrames, 10);
  const grew = process.memoryUsage().rss - before;
  assert.ok(grew < 50 * 2 ** 20, `resident memory grew by ${(grew / 2 ** 20).toFixed(1)} MB`);
  assert.equal(m.memorySize, 64 * 2 ** 30);
});
