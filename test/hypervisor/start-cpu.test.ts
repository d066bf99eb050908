// RTAS start-cpu: a VM starts its secondary vCPUs. A normal VM's vCPU 1 enters the kernel at the
// address and with the R3 it asked for. An SVM's start address never reaches the hypervisor: the
// ultravisor makes the new vCPU's frame and puts a cookie in its place, and the hypervisor can
// only start that frame (UV_RETURN with the cookie). A hypervisor that starts an SVM vCPU on its
// own is refused; the same hypervisor starts a normal VM's vCPU wherever it likes (the control).
// Guest code is scripted: vCPU 0 runs a scripted kernel, the start address holds a small code
// kind of this test that records how it was entered.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Cpu } from '../../src/hw/cpu/cpu.js';
import type { CodeFactory, Flow } from '../../src/hw/cpu/software.js';
import { HC } from '../../src/abi/hcalls.js';
import { UV } from '../../src/abi/ultracalls.js';
import { MSR } from '../../src/abi/msr.js';
import { SPR } from '../../src/abi/spr.js';
import { U, retName } from '../../src/abi/retcodes.js';
import type { Vm } from '../../src/hypervisor/index.js';
import { RTAS_TOKENS, RTAS_PARAMETER_ERROR, RTAS_SUCCESS } from '../../src/hypervisor/rtas.js';
import { scriptKernelCode, scriptKernelImage, type ScriptApi } from '../../src/attacks/scripted-svm.js';
import { AttackContext, preserving, ultracall, type Gen, type Tamper } from '../../src/attacks/index.js';
import type { TraceEvent } from '../../src/hw/trace.js';
import { attackMachine, cleanup } from '../attacks/helpers.js';

let ctx: AttackContext;
before(async () => { ({ ctx } = await attackMachine()); });
after(cleanup);

const SECONDARY_MAGIC = 'PEF-TEST-SECONDARY-CPU';
const R3_VALUE = 0xc0ffee;
/** How the secondary code was entered. */
interface Started { lpid: number; pc: number; r3: bigint; secure: boolean; msr: bigint; otherGprs: number }

/**
 * The primary's report and what vCPU 1 recorded: the start succeeded, vCPU 1 ran once at the
 * start address with R3 and nothing else in its GPRs, in secure mode exactly for an SVM, with
 * hypervisor state, problem state and EE off.
 */
function assertStarted(r: Record<string, unknown>, started: Started[], vm: { lpid: number; exit?: { kind: string } }, secure: boolean): void {
  assert.equal(r.ranSecure, secure, JSON.stringify(r));
  assert.equal(r.done, true, JSON.stringify(r));
  assert.equal(vm.exit?.kind, 'power-off');
  assert.equal(r.first, RTAS_SUCCESS);
  assert.equal(r.ran, true);
  assert.equal(started.length, 1);
  const s = started[0]!;
  assert.equal(s.lpid, vm.lpid);
  assert.equal(s.pc, CODE_ADDR);
  assert.equal(s.r3, BigInt(R3_VALUE));
  assert.equal(s.secure, secure, 'vCPU 1 runs in secure mode exactly when the VM is an SVM');
  assert.equal(s.otherGprs, 0, 'from a fresh register state');
  assert.equal(s.msr & (MSR.S | MSR.HV | MSR.PR | MSR.EE), secure ? MSR.S : 0n);
}

/** The code at the start address: record the entry, then cede for good. */
function secondaryCode(started: Started[]): CodeFactory {
  return {
    magic: SECONDARY_MAGIC,
    create: () => ({
      name: 'secondary cpu',
      *enter(cpu: Cpu, pc: number): Flow {
        if (pc < 0x2000) { yield { op: 'rfid' }; return; }
        let other = 0;
        for (let i = 0; i < 32; i++) if (i !== 3 && cpu.regs.getGpr(i) !== 0n) other++;
        started.push({ lpid: cpu.lpid, pc, r3: cpu.regs.getGpr(3), secure: cpu.secure, msr: cpu.msr, otherGprs: other });
        for (;;) { cpu.regs.setGpr(3, BigInt(HC.H_CEDE)); yield { op: 'sc', lev: 1 }; }
      },
    }),
  };
}

/** Not page aligned: page addresses reach the hypervisor in H_SVM_PAGE_IN, a start address must not. */
const codeAddr = (k: ScriptApi) => k.page(4) + 0x100;
const CODE_ADDR = 0x140100;
const argsPage = (k: ScriptApi) => k.page(5);

/** Put the secondary code at its start address (guest memory: secure in an SVM). */
function* plantCode(k: ScriptApi): Gen {
  const b = new Uint8Array(64);
  b.set(new TextEncoder().encode(SECONDARY_MAGIC));
  assert.ok(yield* k.write(codeAddr(k), b));
}

/** RTAS start-cpu(cpu, start, r3) through H_RTAS; the RTAS status (or the hcall's failure). */
function* startCpu(k: ScriptApi, cpu: number, start: number, r3: number): Gen<number | string> {
  const b = new Uint8Array(12 + 4 * 4);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, RTAS_TOKENS['start-cpu']); dv.setUint32(4, 3); dv.setUint32(8, 1);
  dv.setUint32(12, cpu); dv.setUint32(16, start); dv.setUint32(20, r3); dv.setInt32(24, 0x7777);
  assert.ok(yield* k.write(argsPage(k), b));
  const r = yield* k.hcall(HC.H_RTAS, argsPage(k));
  if (r.rc !== 0) return `H_RTAS rc ${r.rc}`;
  const back = yield* k.read(argsPage(k) + 24, 4);
  return back ? new DataView(back.buffer, back.byteOffset).getInt32(0) : 'rets unreadable';
}

/** Give way until the secondary of this partition has run (or a bound). */
function* awaitSecondary(k: ScriptApi, started: Started[]): Gen<boolean> {
  for (let i = 0; i < 400; i++) {
    if (started.some((s) => s.lpid === k.cpu.lpid)) return true;
    yield* k.hcall(HC.H_CONFER, -1, 0);
  }
  return false;
}

/** vCPU 0: start vCPU 1 at the code, then try what must fail. */
function primary(started: Started[]) {
  return function* (k: ScriptApi): Gen {
    yield* plantCode(k);
    // Outside guest memory: the ultravisor refuses it for an SVM (a normal VM's hypervisor would start it there).
    if (k.secure) k.report.outside = yield* startCpu(k, 1, 0x10000000, 1);
    k.report.unknown = yield* startCpu(k, 7, codeAddr(k), 1);
    k.report.first = yield* startCpu(k, 1, codeAddr(k), R3_VALUE);
    k.report.ran = yield* awaitSecondary(k, started);
    k.report.again = yield* startCpu(k, 1, codeAddr(k), R3_VALUE);
    k.report.self = yield* startCpu(k, 0, codeAddr(k), R3_VALUE);
  };
}

/** vCPU 0 plants the code, says so, and gives way for a while: it never starts vCPU 1. */
function idle(k: ScriptApi): Gen {
  return (function* (): Gen {
    yield* plantCode(k);
    k.report.planted = codeAddr(k);
    for (let i = 0; i < 60; i++) yield* k.hcall(HC.H_CONFER, -1, 0);
  })();
}

function rtasEvents(events: TraceEvent[], vm: Vm, call: string): TraceEvent[] {
  return events.filter((e) => e.kind === 'rtas' && e.lpid === vm.lpid && e.call === call);
}

test('a normal VM starts vCPU 1 with RTAS start-cpu: it runs at the start address with R3 as given; bad cpus get a parameter error', async () => {
  const started: Started[] = [];
  const reports: Record<string, Record<string, unknown>> = {};
  const events: TraceEvent[] = [];
  const sys = ctx.boot({ code: [scriptKernelCode({ smp: primary(started) }, reports), secondaryCode(started)] });
  sys.machine.trace.subscribe((e) => { if (e.kind === 'rtas') events.push(e); });
  try {
    const vm = sys.createVm('vm', ctx.vm(ctx.canary('vm'), { kernel: scriptKernelImage('smp'), vcpus: 2 }), { secureGuest: false });
    await sys.runToEnd();
    const r = reports.smp!;
    assertStarted(r, started, vm, false);
    // A normal VM's start address is the hypervisor's to see.
    assert.deepEqual(rtasEvents(events, vm, 'start-cpu')[1]!.args, [1, CODE_ADDR, R3_VALUE]);
    // No such cpu, one already running (vCPU 1 after its start, vCPU 0 itself): parameter error.
    assert.equal(r.unknown, RTAS_PARAMETER_ERROR);
    assert.equal(r.again, RTAS_PARAMETER_ERROR);
    assert.equal(r.self, RTAS_PARAMETER_ERROR);
  } finally {
    sys.close();
  }
});

test('an SVM starts vCPU 1: it runs secure at its start address with its R3; the hypervisor saw only a cookie', async () => {
  const started: Started[] = [];
  const reports: Record<string, Record<string, unknown>> = {};
  const events: TraceEvent[] = [];
  const frames: Uint8Array[] = [];
  let svmLpid = -1;
  const sys = ctx.boot({
    code: [scriptKernelCode({ smp: primary(started) }, reports), secondaryCode(started)],
    hv: { spy: { frame: (vm, _v, g) => { if (vm?.lpid === svmLpid) frames.push(g); } } },
  });
  sys.machine.trace.subscribe((e) => { if (e.kind === 'rtas' || e.kind === 'uv-start-cpu' || (e.kind === 'vm' && e.event === 'start-cpu')) events.push(e); });
  try {
    const svm = sys.createVm('svm', ctx.svm(ctx.canary('svm'), { kernel: scriptKernelImage('smp'), vcpus: 2 }));
    svmLpid = svm.lpid;
    await sys.runToEnd();
    const r = reports.smp!;
    assertStarted(r, started, svm, true);
    // What the hypervisor saw: the start-cpu calls it was asked to make carry a cookie, never the address.
    const calls = rtasEvents(events, svm, 'start-cpu').map((e) => e.args as number[]);
    assert.equal(calls.length, 4, 'the call with an address outside the SVM was answered by the ultravisor');
    for (const a of calls) {
      assert.notEqual(a[1], CODE_ADDR);
      assert.ok(a[1]! > 0x10000 && a[1]! % 4 === 0, `cookie 0x${a[1]!.toString(16)}`);
    }
    assert.equal(new Set(calls.map((a) => a[1])).size, calls.length, 'a fresh cookie per call');
    const needle = Buffer.alloc(8);
    needle.writeBigUInt64LE(BigInt(CODE_ADDR));
    for (const g of frames) assert.equal(Buffer.from(g).indexOf(needle), -1, 'the start address is in no frame the hypervisor got');
    assert.ok(frames.length > 0);
    // The failed calls (unknown cpu, running cpus) dropped their frames; the outside one was refused.
    const uv = events.filter((e) => e.kind === 'uv-start-cpu').map((e) => e.result);
    assert.deepEqual(uv, ['refused', 'pending', 'dropped', 'pending', 'pending', 'dropped', 'pending', 'dropped']);
    assert.equal(r.outside, RTAS_PARAMETER_ERROR);
    assert.equal(r.unknown, RTAS_PARAMETER_ERROR);
    assert.equal(r.again, RTAS_PARAMETER_ERROR);
    assert.equal(r.self, RTAS_PARAMETER_ERROR);
    assert.equal(sys.uv.pendingCount, 0);
  } finally {
    sys.close();
  }
});

test('a hypervisor cannot start an SVM vCPU by itself (made-up cookie, the address it likes); it can start a normal VM\'s', async () => {
  const started: Started[] = [];
  const reports: Record<string, Record<string, unknown>> = {};
  const tries: { what: string; cookie: bigint; rc?: number }[] = [];
  const st: { svm?: Vm; vm?: Vm; svmDone: boolean; vmDone: boolean } = { svmDone: false, vmDone: false };
  // At a hypercall of the SVM once its code is planted: UV_RETURN for vCPU 1 with cookies of its own.
  const attack: Tamper = {
    entry(cpu: Cpu, vector: number, honest: () => Flow): Flow | undefined {
      if (st.svmDone || vector !== 0xC00 || !st.svm || cpu.lpid !== st.svm.lpid || reports.svm?.planted === undefined) return undefined;
      if ((cpu.mfspr(SPR.SRR1!) & MSR.S) === 0n) return undefined;
      st.svmDone = true;
      const start = BigInt(reports.svm.planted as number);
      return (function* (): Flow {
        yield* preserving(cpu, (function* (): Gen {
          for (const [what, cookie] of [['made-up', randomBytes(8).readBigUInt64LE() & ~3n], ['made-up 32-bit', BigInt(randomBytes(4).readUInt32LE() & ~3)], ['the start address', start]] as const) {
            cpu.mtspr(SPR.HSRR0!, cookie);
            cpu.mtspr(SPR.HSRR1!, MSR.SF | MSR.LE | MSR.ME | MSR.S);
            cpu.regs.setGpr(0, 0n);
            cpu.regs.setGpr(31, cookie);
            const r = yield* ultracall(cpu, UV.UV_RETURN);
            tries.push({ what, cookie, rc: r.rc });
          }
        })());
        yield* honest();
      })();
    },
  };
  // Control: at a hypercall of the normal VM once its code is planted, start its vCPU 1 there (hrfid).
  const control: Tamper = {
    entry(cpu: Cpu, vector: number): Flow | undefined {
      if (st.vmDone || vector !== 0xC00 || !st.vm || cpu.lpid !== st.vm.lpid || reports.vm?.planted === undefined) return undefined;
      st.vmDone = true;
      sys.hv.startVcpu(st.vm.vcpus[1]!, reports.vm.planted as number, 0x42);
      return undefined;
    },
  };
  const sys = ctx.boot({ tampers: [attack, control], code: [scriptKernelCode({ svm: idle, vm: idle }, reports), secondaryCode(started)] });
  try {
    st.svm = sys.createVm('svm', ctx.svm(ctx.canary('svm'), { kernel: scriptKernelImage('svm'), vcpus: 2 }));
    await sys.runToEnd();
    assert.equal(reports.svm?.ranSecure, true);
    assert.ok(st.svmDone, 'the attack ran');
    assert.deepEqual(tries.map((t) => `${t.what}: ${retName(t.rc!, 'U')}`), ['made-up: U_PARAMETER', 'made-up 32-bit: U_PARAMETER', 'the start address: U_PARAMETER']);
    assert.ok(tries.every((t) => t.rc === U.U_PARAMETER));
    assert.deepEqual(started.filter((s) => s.lpid === st.svm!.lpid), [], 'vCPU 1 never ran');
    assert.equal(st.svm.exit?.kind, 'power-off', 'and the SVM ran on');
    // The honest start-cpu path with a start address it chose: UV_RETURN refused, nothing runs secure.
    st.vm = sys.createVm('vm', ctx.vm(ctx.canary('vm'), { kernel: scriptKernelImage('vm'), vcpus: 2 }), { secureGuest: false });
    await sys.runToEnd();
    assert.ok(st.vmDone, 'the control ran');
    const ctl = started.filter((s) => s.lpid === st.vm!.lpid);
    assert.equal(ctl.length, 1, 'the normal VM\'s vCPU 1 ran where the hypervisor put it');
    assert.equal(ctl[0]!.pc, reports.vm!.planted);
    assert.equal(ctl[0]!.r3, 0x42n);
    assert.equal(ctl[0]!.secure, false);
    assert.equal(st.vm.exit?.kind, 'power-off');
  } finally {
    sys.close();
  }
});

test('the hypervisor\'s own start of an SVM vCPU at an address of its choice ends in a refused UV_RETURN', async () => {
  const started: Started[] = [];
  const reports: Record<string, Record<string, unknown>> = {};
  let svm: Vm | undefined;
  let fired = false;
  const attack: Tamper = {
    entry(cpu: Cpu, vector: number): Flow | undefined {
      if (fired || vector !== 0xC00 || !svm || cpu.lpid !== svm.lpid || reports.svm?.planted === undefined) return undefined;
      fired = true;
      sys.hv.startVcpu(svm.vcpus[1]!, reports.svm.planted as number, 0x42);
      return undefined;
    },
  };
  const sys = ctx.boot({ tampers: [attack], code: [scriptKernelCode({ svm: idle }, reports), secondaryCode(started)] });
  try {
    svm = sys.createVm('svm', ctx.svm(ctx.canary('svm'), { kernel: scriptKernelImage('svm'), vcpus: 2 }));
    await sys.runToEnd();
    assert.ok(fired);
    assert.deepEqual(started, [], 'vCPU 1 never ran');
    assert.deepEqual(svm.exit, { kind: 'crash', layer: 'ultravisor', message: `UV_RETURN refused: ${retName(U.U_PARAMETER, 'U')}` });
  } finally {
    sys.close();
  }
});
