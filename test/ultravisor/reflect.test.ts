// Reflection (PEF.md section 7): what the hypervisor sees of an SVM's hypercall or interrupt,
// what comes back, and the cookie. Canaries planted in every register the call does not
// declare as input (and in FP/VSX state and the sensitive SPRs) must never reach the
// hypervisor; the same call from a normal VM is the control that shows the check would see them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HC } from '../../src/abi/hcalls.js';
import { MSR, SRR1_PROGRAM_ILLEGAL } from '../../src/abi/msr.js';
import { REFLECT_MASKED_SPRS, SPR, sprNum } from '../../src/abi/spr.js';
import { H, rcOf } from '../../src/abi/retcodes.js';
import { HFSCR_TM } from '../../src/hw/cpu/cpu.js';
import type { Cpu } from '../../src/hw/cpu/cpu.js';
import type { Op } from '../../src/hw/cpu/software.js';
import { call, type GuestScripts } from './guest.js';
import { makeRig } from './rig.js';
import type { SeenFrame } from './mini-hv.js';

const CAN = 0xc0ffee0000000000n;
const canary = (i: number) => CAN + BigInt(i);
const isCanary = (v: bigint) => (v & 0xffffff0000000000n) === CAN;
const VSR_CANARY = 0xc0ffee99;

/** Plant canaries in everything a kernel can write: GPRs, CR, XER, LR, CTR, FP/VSX, its SPRs. */
function plant(cpu: Cpu): string[] {
  for (let i = 0; i < 32; i++) cpu.regs.setGpr(i, canary(i));
  cpu.regs.cr = 0xc0ffee01 | 0;
  cpu.regs.xer = 0x20000000 | 0x7f;
  cpu.regs.lr = canary(40); cpu.regs.ctr = canary(41);
  cpu.regs.vsr32.fill(VSR_CANARY);
  cpu.regs.fpscr = 0xc0ffee;
  const planted: string[] = [];
  REFLECT_MASKED_SPRS.forEach((n, i) => {
    const num = sprNum(n);
    const need = cpu.sprNeed(num, true);
    if (need !== 'user' && need !== 'priv') return;
    cpu.mtspr(num, canary(100 + i));
    planted.push(n);
  });
  return planted;
}

function leaks(f: SeenFrame, inputs: number[]): string[] {
  const out: string[] = [];
  f.gprs.forEach((v, i) => { if (!inputs.includes(i) && isCanary(v)) out.push(`r${i}`); });
  if (f.vsr.some((w) => w === VSR_CANARY)) out.push('vsr');
  if (f.fpscr === 0xc0ffee) out.push('fpscr');
  if (f.cr === (0xc0ffee01 | 0)) out.push('cr');
  for (const [n, v] of f.sprs) if (isCanary(v)) out.push(n);
  for (const v of [f.srr0, f.srr1, f.hsrr0, f.hsrr1]) if (isCanary(v)) out.push('srr');
  return out;
}

const PUT = [HC.H_PUT_TERM_CHAR, 0, 5, 0x68656c6c6f000000n, 0] as const;

test('a hypercall from an SVM reaches the hypervisor with only its declared inputs; the same from a normal VM is the control', () => {
  let svmPc = 0n;
  const scripts: GuestScripts = {
    *normal(g) {
      plant(g.cpu);
      yield* call(g.cpu, 1, PUT[0], PUT[1], PUT[2], PUT[3], PUT[4]);
      // then become secure
      const r = yield* call(g.cpu, 2, 0xF110, g.kbase, g.fdt);
      g.out.esm = rcOf(r[0]!);
      yield { op: 'stop', reason: 'esm returned' };
    },
    *secure(g) {
      plant(g.cpu);
      svmPc = 0n;
      yield* call(g.cpu, 1, PUT[0], PUT[1], PUT[2], PUT[3], PUT[4]);
    },
  };
  const r = makeRig({ guest: scripts });
  r.run();
  assert.equal(r.out.secure, true, r.log.join('\n'));
  const frames = r.hv.seen.filter((f) => f.vector === 0xC00 && f.gprs[3] === BigInt(HC.H_PUT_TERM_CHAR));
  assert.equal(frames.length, 2);
  const [normal, secure] = frames as [SeenFrame, SeenFrame];
  const inputs = [3, 4, 5, 6, 7];
  // Control: the normal VM's hypercall shows the hypervisor everything, canaries included.
  assert.ok(leaks(normal, inputs).length >= 25, `control sees canaries: ${leaks(normal, inputs)}`);
  // The SVM's shows none of them.
  assert.deepEqual(leaks(secure, inputs), []);
  // Declared inputs do arrive.
  assert.deepEqual(secure.gprs.slice(3, 8), [BigInt(PUT[0]), 0n, 5n, PUT[3], 0n]);
  assert.equal(r.hv.console, 'hellohello');
  // The PC is a cookie, the same in SRR0, HSRR0 and R31; SRR1 says secure.
  assert.equal(secure.srr0, secure.gprs[31]);
  assert.equal(secure.hsrr0, secure.gprs[31]);
  assert.notEqual(secure.srr0, svmPc);
  assert.equal(secure.srr1 & MSR.S, MSR.S);
  // FP/VMX/VSX state is cleared, not randomized.
  assert.ok(secure.vsr.every((w) => w === 0));
});

test('every non-input GPR is random: different on each reflection and almost never zero', () => {
  const r = makeRig({
    guest: {
      *secure(g) {
        for (let i = 0; i < 2; i++) { plant(g.cpu); yield* call(g.cpu, 1, HC.H_CEDE); }
      },
    },
  });
  r.run();
  const f = r.hv.seen.filter((x) => x.gprs[3] === BigInt(HC.H_CEDE));
  assert.equal(f.length, 2);
  const others = [0, 1, 2, ...Array.from({ length: 27 }, (_, i) => i + 4)];
  const zeros = others.filter((i) => f[0]!.gprs[i] === 0n).length;
  const same = others.filter((i) => f[0]!.gprs[i] === f[1]!.gprs[i]).length;
  assert.ok(zeros <= 1, `${zeros} zero registers`);
  assert.ok(same <= 1, `${same} registers equal across two reflections`);
  assert.notEqual(f[0]!.gprs[31], f[1]!.gprs[31], 'a fresh cookie each time');
});

test('UV_RETURN restores everything but the declared outputs', () => {
  let after: { gprs: bigint[]; vsr: Uint32Array; lr: bigint; ctr: bigint; cr: number; sprs: Map<string, bigint> } | undefined;
  let planted: string[] = [];
  const r = makeRig({
    guest: {
      *secure(g) {
        planted = plant(g.cpu);
        g.cpu.regs.setGpr(3, BigInt(HC.H_GET_TERM_CHAR));
        g.cpu.regs.setGpr(4, 0n);
        yield { op: 'sc', lev: 1 };
        const sprs = new Map(planted.map((n) => [n, g.cpu.mfspr(sprNum(n))]));
        after = { gprs: Array.from({ length: 32 }, (_, i) => g.cpu.regs.getGpr(i)), vsr: new Uint32Array(g.cpu.regs.vsr32), lr: g.cpu.regs.lr, ctr: g.cpu.regs.ctr, cr: g.cpu.regs.cr, sprs };
      },
    },
  });
  r.hv.hooks.hcall = function* (c) {
    if (c.nr !== HC.H_GET_TERM_CHAR || !c.fromSvm) return undefined;
    // A hypervisor that scribbles on everything it can reach.
    for (let i = 0; i < 31; i++) c.cpu.regs.setGpr(i, 0xbadn + BigInt(i));
    c.cpu.regs.vsr32.fill(0xbad);
    c.cpu.regs.lr = 0xbadn;
    yield* [];
    return { rc: H.H_SUCCESS, out: [2n, 0x4142000000000000n, 0n, 0xbad0n, 0xbad1n] };
  };
  r.run();
  assert.ok(after, r.log.join('\n'));
  const g = after.gprs;
  assert.equal(g[3], 0n, 'R3 = the status (R0 at UV_RETURN)');
  assert.deepEqual(g.slice(4, 7), [2n, 0x4142000000000000n, 0n], 'R4..R6: the declared outputs');
  for (let i = 0; i < 32; i++) if (i < 3 || i > 6) assert.equal(g[i], canary(i), `r${i} restored`);
  assert.ok(after.vsr.every((w) => w === VSR_CANARY), 'VSX restored');
  assert.ok(isCanary(after.lr) && isCanary(after.ctr), 'LR and CTR restored');
  assert.equal(after.cr, 0xc0ffee01 | 0);
  for (const n of planted) if (n !== 'LR' && n !== 'CTR' && n !== 'XER' && n !== 'DEC') assert.equal(isCanary(after.sprs.get(n)!), true, `${n} restored`);
});

test('H_RANDOM is answered by the ultravisor from darn and never reaches the hypervisor', () => {
  const r = makeRig({
    guest: {
      *secure(g) {
        const a = yield* call(g.cpu, 1, HC.H_RANDOM);
        const b = yield* call(g.cpu, 1, HC.H_RANDOM);
        g.out.rand = [a[0], a[1], b[0], b[1]];
      },
      *normal(g) {
        const a = yield* call(g.cpu, 1, HC.H_RANDOM);
        g.out.normalRand = a[1];
        yield* call(g.cpu, 2, 0xF110, g.kbase, g.fdt);
      },
    },
  });
  r.run();
  const [rc1, v1, rc2, v2] = r.out.rand as bigint[];
  assert.equal(rc1, 0n); assert.equal(rc2, 0n);
  assert.notEqual(v1, v2);
  // Control: from a normal VM the hypervisor answers it (and here, with a constant).
  assert.equal(r.out.normalRand, 0x1234567890abcdefn);
  assert.notEqual(v1, 0x1234567890abcdefn);
  const fromSvm = r.hv.seen.filter((f) => (f.srr1 & MSR.S) !== 0n && f.gprs[3] === BigInt(HC.H_RANDOM));
  assert.equal(fromSvm.length, 0);
});

function cookieRig(tamper: (cpu: Cpu, stash: { first?: bigint }) => void) {
  const stash: { first?: bigint } = {};
  const r = makeRig({
    guest: {
      *secure(g) {
        plant(g.cpu);
        yield* call(g.cpu, 1, HC.H_CEDE);
        g.out.first = true;
        plant(g.cpu);
        const res = yield* call(g.cpu, 1, HC.H_CEDE);
        g.out.second = rcOf(res[0]!);
        g.out.r20 = g.cpu.regs.getGpr(20);
      },
    },
  });
  let n = 0;
  r.hv.hooks.retryRefused = true;
  r.hv.hooks.beforeReturn = (cpu) => {
    n++;
    if (n === 1) { stash.first = cpu.regs.getGpr(31); return; }
    tamper(cpu, stash);
  };
  return r;
}

test('a wrong cookie is refused, the machine runs on, and the right one still resumes the SVM', () => {
  const r = cookieRig((cpu) => cpu.regs.setGpr(31, cpu.regs.getGpr(31) ^ 0x10n));
  r.run();
  assert.ok(r.hv.log.some((l) => l === 'uv-return refused -4'), r.hv.log.join('\n'));
  assert.equal(r.out.second, 0, 'the SVM resumed with its hypercall status');
  assert.equal(r.out.r20, canary(20), 'and its registers');
  assert.equal(r.m.cpus[0]!.stopReason, 'svm-done');
});

test('a replayed cookie (one already used) is refused', () => {
  const r = cookieRig((cpu, stash) => cpu.regs.setGpr(31, stash.first!));
  r.run();
  assert.ok(r.hv.log.some((l) => l === 'uv-return refused -4'), r.hv.log.join('\n'));
  assert.equal(r.out.second, 0);
  assert.equal(r.out.r20, canary(20));
});

test('a valid vector in HSRR0 at UV_RETURN injects that interrupt into the SVM', () => {
  const seen: { srr0: bigint; srr1: bigint; vector: number }[] = [];
  const r = makeRig({
    guest: {
      *secure(g) {
        yield* call(g.cpu, 1, HC.H_CEDE);
        g.out.back = true;
      },
      *vector(g, vector) {
        seen.push({ vector, srr0: g.cpu.mfspr(SPR.SRR0!), srr1: g.cpu.mfspr(SPR.SRR1!) });
        yield { op: 'rfid' };
      },
    },
  });
  let cede = 0;
  r.hv.hooks.hcall = function* (c) { if (c.nr === HC.H_CEDE) cede++; yield* []; return undefined; };
  r.hv.hooks.beforeReturn = (cpu, _vm, vector) => {
    if (vector !== 0xC00 || cede !== 1) return;
    cede++;
    cpu.mtspr(SPR.HSRR0!, 0x500n);
    cpu.regs.setGpr(2, 0n);
  };
  r.run();
  assert.equal(seen.length, 1, r.log.join('\n'));
  assert.equal(seen[0]!.vector, 0x500);
  assert.equal(seen[0]!.srr1 & MSR.S, MSR.S);
  assert.equal(r.out.back, true, 'rfid from the handler resumes the SVM after its hypercall');
});

test('a hypervisor-class vector in HSRR0 is not injectable: the SVM simply resumes', () => {
  const vectors: number[] = [];
  const r = makeRig({
    guest: {
      *secure(g) { yield* call(g.cpu, 1, HC.H_CEDE); g.out.back = true; },
      *vector(_g, v) { vectors.push(v); yield { op: 'rfid' }; },
    },
  });
  r.hv.hooks.beforeReturn = (cpu) => cpu.mtspr(SPR.HSRR0!, 0xE00n);
  r.run();
  assert.deepEqual(vectors, []);
  assert.equal(r.out.back, true);
});

test('an asynchronous interrupt (HDEC) is reflected with nothing of the SVM passed on', () => {
  const HDEC_SET = 0xF0F1;
  const r = makeRig({
    guest: {
      *secure(g) {
        yield* call(g.cpu, 1, HDEC_SET);
        plant(g.cpu);
        for (let i = 0; i < 10; i++) yield { op: 'mtmsrd', value: g.cpu.msr, l: 1 } as Op;
        g.out.r9 = g.cpu.regs.getGpr(9);
        g.out.vsr = g.cpu.regs.vsr32[5];
      },
    },
  });
  r.hv.hooks.hcall = function* (c) {
    if (c.nr !== HDEC_SET) return undefined;
    c.cpu.mtspr(SPR.HDEC!, 4n);
    yield* [];
    return { rc: 0 };
  };
  r.run();
  const f = r.hv.seen.find((x) => x.vector === 0x980);
  assert.ok(f, r.hv.log.join('\n'));
  assert.deepEqual(leaks(f, []), []);
  assert.equal(f.hsrr0, f.gprs[31]);
  assert.equal(f.hsrr1 & MSR.S, MSR.S);
  assert.equal(r.out.r9, canary(9), 'the SVM continues with its registers');
  assert.equal(r.out.vsr, VSR_CANARY);
});

test('transactional memory in an SVM becomes an illegal-instruction program interrupt, even if the hypervisor allows TM', () => {
  const TM_ON = 0xF0F2;
  const got: { vector: number; srr1: bigint }[] = [];
  const r = makeRig({
    guest: {
      *secure(g) {
        yield* call(g.cpu, 1, TM_ON);
        yield { op: 'mtmsrd', value: g.cpu.msr | MSR.TM };
        yield { op: 'tbegin' };
        g.out.after = true;
      },
      *vector(g, v) { got.push({ vector: v, srr1: g.cpu.mfspr(SPR.SRR1!) }); yield { op: 'rfid' }; },
    },
  });
  r.hv.hooks.hcall = function* (c) {
    if (c.nr !== TM_ON) return undefined;
    c.cpu.mtspr(SPR.HFSCR!, c.cpu.mfspr(SPR.HFSCR!) | HFSCR_TM);
    yield* [];
    return { rc: 0 };
  };
  r.run();
  assert.deepEqual(got.map((x) => x.vector), [0x700]);
  assert.equal(got[0]!.srr1 & SRR1_PROGRAM_ILLEGAL, SRR1_PROGRAM_ILLEGAL);
  assert.equal(r.out.after, true);
});

test('control: in a normal VM the hypervisor may allow TM, and tbegin. raises nothing', () => {
  const TM_ON = 0xF0F2;
  const got: number[] = [];
  const r = makeRig({
    guest: {
      *normal(g) {
        yield* call(g.cpu, 1, TM_ON);
        yield { op: 'mtmsrd', value: g.cpu.msr | MSR.TM };
        yield { op: 'tbegin' };
        g.out.after = true;
        yield { op: 'stop', reason: 'done' };
      },
      *vector(_g, v) { got.push(v); yield { op: 'rfid' }; },
    },
  });
  r.hv.hooks.hcall = function* (c) {
    if (c.nr !== TM_ON) return undefined;
    c.cpu.mtspr(SPR.HFSCR!, c.cpu.mfspr(SPR.HFSCR!) | HFSCR_TM);
    yield* [];
    return { rc: 0 };
  };
  r.run();
  assert.equal(r.out.after, true);
  assert.deepEqual(got, []);
});
