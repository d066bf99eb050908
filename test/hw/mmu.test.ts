// Partition-scoped translation: a missing translation raises HDSI (data) or HISI (fetch) with
// HDAR and ASDR set; a mapped page translates (control); the partition table itself lives in
// secure memory where the hypervisor cannot read or redirect it. Transitions are traced.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HardwareInterrupt, MachineCheck } from '../../src/hw/faults.js';
import { buildIdentityPartition, enterMode } from '../../src/hw/testing.js';
import { SPR } from '../../src/abi/spr.js';
import { MSR } from '../../src/abi/msr.js';
import { BASE_MSR, smallMachine } from './helpers.js';

test('an unmapped guest address raises HDSI with HDAR and ASDR; a fetch raises HISI; a mapped one works', () => {
  const m = smallMachine();
  const cpu = m.cpus[0]!;
  buildIdentityPartition(m, cpu, 3, 4 * 65536);
  cpu.store32(0x20008, 0xabcd1234);
  assert.equal(cpu.load32(0x20008), 0xabcd1234, 'control: mapped');
  assert.throws(() => cpu.load32(0x50010), (e: unknown) => e instanceof HardwareInterrupt && e.vector === 0xE00 && e.dar === 0x50010);
  assert.throws(() => cpu.fetch32(0x50010), (e: unknown) => e instanceof HardwareInterrupt && e.vector === 0xE20);
  // The hypervisor reads the fault registers after the interrupt is delivered to it.
  cpu.deliver(0xE00, 0x1000);
  assert.equal(cpu.mode, 'hypervisor');
  assert.equal(cpu.mfspr(SPR.HDAR!), 0x50010n);
  assert.equal(cpu.mfspr(SPR.ASDR!) >> 16n, 5n);
});

test('the partition table is in secure memory: the hypervisor can neither read it nor move PTCR', () => {
  const m = smallMachine();
  const cpu = m.cpus[0]!;
  const { ptab } = buildIdentityPartition(m, cpu, 1, 65536);
  assert.ok(ptab >= 2 ** 48, 'allocated in secure memory');
  cpu.deliver(0xE40, 0);
  assert.equal(cpu.mode, 'hypervisor');
  assert.throws(() => cpu.read(ptab, 16), MachineCheck);
  assert.throws(() => cpu.mtspr(SPR.PTCR!, 0x10000n), (e: unknown) => e instanceof HardwareInterrupt && e.vector === 0xE40);
  assert.equal(cpu.mfspr(SPR.PTCR!) & ~0xfffn, BigInt(ptab), 'PTCR unchanged');
});

test('every transition is one trace event with cpu, modes, vector and registers of interest', () => {
  const m = smallMachine();
  const cpu = m.cpus[0]!;
  const rec = m.trace.record();
  enterMode(cpu, BASE_MSR | MSR.HV, 0x3000);
  cpu.regs.setGpr(3, 0xF104n);
  cpu.sc(2, 0x3004);
  rec.stop();
  const kinds = rec.events.map((e) => e.kind);
  assert.deepEqual(kinds.filter((k) => k !== 'spr'), ['urfid', 'sc', 'interrupt']);
  const irq = rec.events.find((e) => e.kind === 'interrupt')!;
  assert.equal(irq.cpu, 0);
  assert.equal(irq.from, 'hypervisor');
  assert.equal(irq.to, 'ultravisor');
  assert.equal(irq.vector, 0xC00);
  const sc = rec.events.find((e) => e.kind === 'sc')!;
  assert.equal(sc.regs?.r3, '0xf104');
});

test('copy and readInto move bytes across frame boundaries with every frame checked', () => {
  const m = smallMachine();
  const cpu = m.cpus[0]!;
  buildIdentityPartition(m, cpu, 1, 4 * 65536);
  const data = new Uint8Array(100_000).map((_, i) => (i * 31) & 0xff);
  cpu.write(0x1000, data);
  cpu.copy(0x20123, 0x1000, data.length);
  const out = new Uint8Array(data.length);
  cpu.readInto(0x20123, out);
  assert.deepEqual(out, data);
  // A copy that would cross into an unmapped page faults like any access.
  assert.throws(() => cpu.copy(4 * 65536 - 10, 0x1000, 100), (e: unknown) => e instanceof HardwareInterrupt && e.vector === 0xE00);
});
