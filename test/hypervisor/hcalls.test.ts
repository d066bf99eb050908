// The hypervisor's hypercall ABI, driven by a tiny guest kernel that makes raw `sc 1` calls
// (numbers and return codes from src/abi) and by a problem-state program.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Cpu } from '../../src/hw/cpu/cpu.js';
import type { CodeFactory, Flow, Op } from '../../src/hw/cpu/software.js';
import { HC } from '../../src/abi/hcalls.js';
import { H, rcOf } from '../../src/abi/retcodes.js';
import { MSR } from '../../src/abi/msr.js';
import { hcall, packBE, type CallResult } from '../../src/guest/arch.js';
import * as mem from '../../src/guest/mem.js';
import { KERNEL_LOAD_ADDR } from '../../src/image/kernel.js';
import { RTAS_TEXT } from '../../src/image/rtas.js';
import { MMIO_BASE, RTAS_TOKENS } from '../../src/hypervisor/index.js';
import { bareSystem } from './system.js';

type Step = (cpu: Cpu) => Generator<Op, unknown, void>;

/** A guest whose kernel runs `steps` and records what each returned. */
function harness(steps: Step[], user?: Step) {
  const results: unknown[] = [];
  const kernel: CodeFactory = {
    magic: 'PEF-TEST-HCALLS!',
    create: () => ({
      name: 'test-kernel',
      *enter(cpu: Cpu, pc: number): Flow {
        if (pc === 0xC00) {
          // The user program's sc 0: it reports its result in R3, then the kernel stops.
          results.push({ user: rcOf(cpu.regs.getGpr(3)) });
          yield { op: 'stop', reason: 'done' };
          return;
        }
        for (const s of steps) results.push(yield* s(cpu));
        if (user) {
          cpu.mtspr(26, 0x500000n);
          cpu.mtspr(27, cpu.msr | MSR.PR);
          yield { op: 'rfid' };
          return;
        }
        yield { op: 'stop', reason: 'done' };
      },
    }),
  };
  const prog: CodeFactory = {
    magic: 'PEF-TEST-USER!!!',
    create: () => ({
      name: 'test-user',
      *enter(cpu: Cpu): Flow {
        const r = yield* user!(cpu);
        cpu.regs.setGpr(3, BigInt(r as number));
        yield { op: 'sc', lev: 0 };
      },
    }),
  };
  const sys = bareSystem({ code: [kernel, prog] });
  const img = new Uint8Array(0x200000);
  new DataView(img.buffer).setUint32(0, 0x48000040, true);
  img.set(new TextEncoder().encode('PEF-TEST-HCALLS!'), 4);
  img.set(new TextEncoder().encode('\x40\x00\x00\x48PEF-TEST-USER!!!'), 0x100000);
  const vm = sys.hv.createVm({ name: 't', memBytes: 64 << 20, secureGuest: false, image: { kernel: { paddr: KERNEL_LOAD_ADDR, bytes: img, entry: KERNEL_LOAD_ADDR }, bootargs: '', rtas: RTAS_TEXT } });
  return { sys, vm, results, run: () => sys.machine.run({ maxSteps: 100_000 }) };
}

const rc = (num: number, ...args: (number | bigint)[]): Step => function* (cpu) { return (yield* hcall(cpu, num, ...args)).rc; };
const full = (num: number, ...args: (number | bigint)[]): Step => function* (cpu) { return yield* hcall(cpu, num, ...args); };

test('H_PUT_TERM_CHAR takes up to 16 bytes packed big-endian in R6 and R7', () => {
  const text = new TextEncoder().encode('sixteen bytes!!\n');
  const [c0, c1] = packBE(text, 2);
  const h = harness([rc(HC.H_PUT_TERM_CHAR, 0, 16, c0!, c1!), rc(HC.H_PUT_TERM_CHAR, 0, 17, c0!, c1!), rc(HC.H_PUT_TERM_CHAR, 1, 1, c0!, 0n)]);
  h.run();
  assert.deepEqual(h.results, [H.H_SUCCESS, H.H_PARAMETER, H.H_PARAMETER]);
  assert.deepEqual(h.vm.console, ['sixteen bytes!!']);
});

test('H_SVM_* and H_SVM_TPM_COMM from a normal VM are refused: only the ultravisor, in a secure context, may make them', () => {
  const h = harness([
    rc(HC.H_SVM_INIT_START), rc(HC.H_SVM_PAGE_IN, 0, 0, 16), rc(HC.H_SVM_PAGE_OUT, 0, 0, 16), rc(HC.H_SVM_INIT_DONE),
    rc(HC.H_SVM_INIT_ABORT), rc(HC.H_SVM_TPM_COMM, 1, 0x10000, 64, 0x20000, 4096),
  ]);
  h.run();
  assert.deepEqual(h.results, [H.H_UNSUPPORTED, H.H_UNSUPPORTED, H.H_UNSUPPORTED, H.H_UNSUPPORTED, H.H_UNSUPPORTED, H.H_UNSUPPORTED]);
  assert.equal(h.vm.svm, 'normal', 'and the VM did not change state');
});

test('H_RANDOM gives fresh 64-bit values; unknown hypercalls answer H_FUNCTION', () => {
  const h = harness([full(HC.H_RANDOM), full(HC.H_RANDOM), rc(0x1234)]);
  h.run();
  const [a, b, c] = h.results as [CallResult, CallResult, number];
  assert.equal(a.rc, 0);
  assert.notEqual(a.out[0], b.out[0]);
  assert.equal(c, H.H_FUNCTION);
});

test('H_LOGICAL_CI_LOAD/STORE reach the virtio-mmio registers; bad sizes and addresses are refused', () => {
  const h = harness([full(HC.H_LOGICAL_CI_LOAD, 4, MMIO_BASE), full(HC.H_LOGICAL_CI_LOAD, 4, MMIO_BASE + 8), rc(HC.H_LOGICAL_CI_LOAD, 3, MMIO_BASE), rc(HC.H_LOGICAL_CI_LOAD, 4, 0x10000), rc(HC.H_LOGICAL_CI_STORE, 4, MMIO_BASE + 0x70, 1), full(HC.H_LOGICAL_CI_LOAD, 4, MMIO_BASE + 0x70)]);
  h.run();
  const r = h.results as [CallResult, CallResult, number, number, number, CallResult];
  assert.equal(r[0].out[0], 0x74726976n, '"virt"');
  assert.equal(r[1].out[0], 3n, 'the console is device 3');
  assert.deepEqual([r[2], r[3], r[4]], [H.H_PARAMETER, H.H_PARAMETER, H.H_SUCCESS]);
  assert.equal(r[5].out[0], 1n, 'status written and read back');
});

function* lppaca(cpu: Cpu, at: number, size: number): Generator<Op, void, void> {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setUint32(0, 0xd397d781);
  new DataView(b.buffer).setUint16(4, size);
  yield* mem.write(cpu, at, b);
}

test('H_REGISTER_VPA checks size and placement; the hypervisor bumps the yield count at every exit and entry', () => {
  const REG = 1n << 45n;
  const h = harness([
    function* (cpu) { yield* lppaca(cpu, 0x900000, 0x400); yield* lppaca(cpu, 0x910000, 100); yield* lppaca(cpu, 0x920c00, 0x800); return 0; },
    rc(HC.H_REGISTER_VPA, REG, 0, 0x910000), rc(HC.H_REGISTER_VPA, REG, 0, 0x920c00), rc(HC.H_REGISTER_VPA, REG, 7, 0x900000),
    rc(HC.H_REGISTER_VPA, REG, 0, 0x900000),
    rc(HC.H_GET_TERM_CHAR, 0), rc(HC.H_GET_TERM_CHAR, 0), rc(HC.H_GET_TERM_CHAR, 0),
    function* (cpu) { return new DataView((yield* mem.read(cpu, 0x900100, 4)).buffer).getUint32(0); },
  ]);
  h.run();
  assert.deepEqual(h.results.slice(1, 5), [H.H_PARAMETER, H.H_PARAMETER, H.H_PARAMETER, H.H_SUCCESS]);
  // Registration's own exit/entry is not counted (the VPA did not exist at its exit); each cede after it counts twice.
  assert.equal(h.results[8], 1 + 2 * 3, 'one entry after registering, then an exit and an entry per hypercall');
});

test('H_CEDE sleeps until an interrupt is pending for the VM, and returns at once if one already is', () => {
  const h = harness([rc(HC.H_CEDE), rc(HC.H_CEDE)]);
  const r1 = h.run();
  assert.equal(r1.reason, 'idle', 'nothing pending: the vCPU sleeps and the thread naps');
  assert.deepEqual(h.results, []);
  h.sys.hv.prod(h.vm);
  const r2 = h.run();
  assert.equal(r2.reason, 'idle');
  assert.deepEqual(h.results, [H.H_SUCCESS], 'woken by the interrupt, then asleep again in the second cede');
  h.sys.hv.prod(h.vm);
  h.sys.hv.prod(h.vm);
  h.run();
  assert.deepEqual(h.results, [H.H_SUCCESS, H.H_SUCCESS]);
});

test('RTAS: unknown tokens fail, power-off stops the VM', () => {
  const args = (token: number) => function* (cpu: Cpu): Generator<Op, unknown, void> {
    const b = new Uint8Array(20);
    const dv = new DataView(b.buffer);
    dv.setUint32(0, token); dv.setUint32(4, 0); dv.setUint32(8, 1); dv.setInt32(12, 99);
    yield* mem.write(cpu, 0x900000, b);
    const r = yield* hcall(cpu, HC.H_RTAS, 0x900000);
    return [r.rc, new DataView((yield* mem.read(cpu, 0x90000c, 4)).buffer).getInt32(0)];
  };
  const h = harness([args(0x7777), args(RTAS_TOKENS['power-off'])]);
  h.run();
  assert.deepEqual(h.results[0], [H.H_SUCCESS, -1]);
  assert.deepEqual(h.vm.exit, { kind: 'power-off' });
  assert.equal(h.results.length, 1, 'the VM never came back from power-off');
});

test('a hypercall from problem state is refused with H_PRIVILEGE', () => {
  const h = harness([], rc(HC.H_RANDOM));
  h.run();
  assert.deepEqual(h.results, [{ user: H.H_PRIVILEGE }]);
});
