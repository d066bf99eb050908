// The page-state machine (PEF.md section 8) with a running SVM: page-out encryption and what a
// hypervisor can do with the ciphertext (replay, swap, bit-flip, truncation: all U_P3, the
// SVM's data unchanged; the honest round trip is the control), two-phase share and unshare
// with rollback and zeroing, invalidation, the transient-state error codes, implicit shares.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UV } from '../../src/abi/ultracalls.js';
import { U, rcOf } from '../../src/abi/retcodes.js';
import { HC } from '../../src/abi/hcalls.js';
import { GPF, H_PAGE_IN_SHARED, PAGE_SIZE } from '../../src/abi/pages.js';
import { retrying } from '../../src/hw/cpu/retry.js';
import type { Cpu } from '../../src/hw/cpu/cpu.js';
import type { Op } from '../../src/hw/cpu/software.js';
import { call, type GuestScripts } from './guest.js';
import { LPID, makeRig, type Rig, type RigOptions } from './rig.js';
import type { HvVm, MiniHv } from './mini-hv.js';

const X = 0x600000, Y = 0x610000, Z = 0x620000;
const fill = (tag: number) => new Uint8Array(PAGE_SIZE).map((_, i) => (i * 7 + tag) & 0xff);
const HVWORK = 0xF0F0;

/** The SVM writes `data` at `gpa` and reads it back into out[key] after the hypervisor's work. */
function* writeThen(cpu: Cpu, gpa: number, data: Uint8Array): Generator<Op, void, void> {
  yield* retrying(() => cpu.write(gpa, data));
}
function* read(cpu: Cpu, gpa: number, n = PAGE_SIZE): Generator<Op, Uint8Array, void> {
  return yield* retrying(() => cpu.read(gpa, n));
}

/** A rig whose SVM runs `secure` and whose hypervisor runs `work` when the SVM asks (hcall 0xF0F0). */
function rigWith(secure: GuestScripts['secure'], work: (cpu: Cpu, hv: MiniHv, vm: HvVm, arg: bigint) => Generator<Op, void, void>, o: RigOptions = {}): Rig {
  const r = makeRig({ ...o, guest: { ...o.guest, secure } });
  r.hv.hooks.hcall = function* (c) {
    if (c.nr !== HVWORK) return undefined;
    yield* work(c.cpu, r.hv, c.vm, c.args[0]!);
    return { rc: 0 };
  };
  return r;
}

function* pageOut(cpu: Cpu, hv: MiniHv, ra: number, gpa: number, lpid = LPID): Generator<Op, number, void> {
  return yield* hv.ucall(cpu, UV.UV_PAGE_OUT, lpid, ra, gpa, 0, 16);
}
function* pageIn(cpu: Cpu, hv: MiniHv, ra: number, gpa: number, lpid = LPID): Generator<Op, number, void> {
  return yield* hv.ucall(cpu, UV.UV_PAGE_IN, lpid, ra, gpa, 0, 16);
}

test('page-out gives the hypervisor ciphertext only; an honest page-in returns the data (control)', () => {
  const A = fill(1);
  const rcs: number[] = [];
  let ct: Uint8Array | undefined;
  const r = rigWith(function* (g) {
    yield* writeThen(g.cpu, X, A);
    yield* call(g.cpu, 1, HVWORK);
    g.out.back = yield* read(g.cpu, X);
  }, function* (cpu, hv, vm) {
    const ra = hv.allocFrame();
    rcs.push(yield* pageOut(cpu, hv, ra, X));
    ct = hv.m.host.read(ra, PAGE_SIZE);
    rcs.push(yield* pageIn(cpu, hv, ra, X));
    void vm;
  });
  r.run();
  assert.deepEqual(rcs, [U.U_SUCCESS, U.U_SUCCESS]);
  assert.equal(Buffer.from(ct!).indexOf(Buffer.from(A.subarray(0, 64))), -1, 'the hypervisor holds no plaintext');
  assert.deepEqual(r.out.back, A);
});

type Attack = (cpu: Cpu, hv: MiniHv, rcs: number[]) => Generator<Op, void, void>;

function attack(name: string, a: Attack, o: RigOptions = {}): void {
  test(`page-in of a ${name} page fails with U_P3 and the SVM's data is unchanged`, () => {
    const rcs: number[] = [];
    const r = rigWith(function* (g) {
      yield* writeThen(g.cpu, X, fill(1));
      yield* writeThen(g.cpu, Y, fill(2));
      yield* call(g.cpu, 1, HVWORK);
      g.out.x = yield* read(g.cpu, X);
      g.out.y = yield* read(g.cpu, Y);
    }, function* (cpu, hv) { yield* a(cpu, hv, rcs); }, o);
    r.run();
    assert.ok(rcs.includes(U.U_P3), `${rcs}`);
    assert.equal(rcs[rcs.length - 1], U.U_SUCCESS, 'the genuine page still goes back in afterwards');
    assert.deepEqual(r.out.x, fill(1));
    assert.deepEqual(r.out.y, fill(2));
  });
}

attack('replayed (an earlier page-out of the same frame)', function* (cpu, hv, rcs) {
  const old = hv.allocFrame(), now = hv.allocFrame();
  rcs.push(yield* pageOut(cpu, hv, old, X));
  rcs.push(yield* pageIn(cpu, hv, old, X));
  rcs.push(yield* pageOut(cpu, hv, now, X));
  rcs.push(yield* pageIn(cpu, hv, old, X));
  rcs.push(yield* pageIn(cpu, hv, now, X));
});

attack('swapped (another frame\'s ciphertext)', function* (cpu, hv, rcs) {
  const a = hv.allocFrame(), b = hv.allocFrame();
  rcs.push(yield* pageOut(cpu, hv, a, X));
  rcs.push(yield* pageOut(cpu, hv, b, Y));
  rcs.push(yield* pageIn(cpu, hv, b, X));
  rcs.push(yield* pageIn(cpu, hv, a, Y));
  rcs.push(yield* pageIn(cpu, hv, b, Y));
  rcs.push(yield* pageIn(cpu, hv, a, X));
});

attack('bit-flipped', function* (cpu, hv, rcs) {
  const a = hv.allocFrame();
  rcs.push(yield* pageOut(cpu, hv, a, X));
  const b = hv.m.host.read(a + 1000, 1);
  hv.m.host.write(a + 1000, new Uint8Array([b[0]! ^ 0x04]));
  rcs.push(yield* pageIn(cpu, hv, a, X));
  hv.m.host.write(a + 1000, b);
  rcs.push(yield* pageIn(cpu, hv, a, X));
});

attack('truncated (its tail dropped)', function* (cpu, hv, rcs) {
  const a = hv.allocFrame(), t = hv.allocFrame();
  rcs.push(yield* pageOut(cpu, hv, a, X));
  hv.m.host.write(t, hv.m.host.read(a, PAGE_SIZE / 2));
  rcs.push(yield* pageIn(cpu, hv, t, X));
  rcs.push(yield* pageIn(cpu, hv, a, X));
});

test('page-in of another SVM\'s ciphertext fails with U_P3 (swap between SVMs)', () => {
  const rcs: number[] = [];
  const r = makeRig({
    vms: 2,
    guest: {
      *secure(g) {
        yield* writeThen(g.cpu, X, fill(g.cpu.lpid));
        if (g.cpu.lpid === LPID) {
          yield* call(g.cpu, 1, 0xF0A1); // start the second SVM
        } else {
          yield* call(g.cpu, 1, HVWORK);
          g.out.x = yield* read(g.cpu, X);
        }
      },
    },
  });
  const [vm1, vm2] = r.vms as [HvVm, HvVm];
  r.hv.hooks.hcall = function* (c) {
    if (c.nr === 0xF0A1) {
      r.hv.enterVm(c.cpu, vm2);
      yield { op: 'hrfid' };
    }
    if (c.nr !== HVWORK) return undefined;
    const a = r.hv.allocFrame(), b = r.hv.allocFrame();
    rcs.push(yield* pageOut(c.cpu, r.hv, a, X, vm1.lpid));
    rcs.push(yield* pageOut(c.cpu, r.hv, b, X, vm2.lpid));
    rcs.push(yield* pageIn(c.cpu, r.hv, a, X, vm2.lpid));
    rcs.push(yield* pageIn(c.cpu, r.hv, b, X, vm2.lpid));
    return { rc: 0 };
  };
  r.run();
  assert.deepEqual(rcs, [U.U_SUCCESS, U.U_SUCCESS, U.U_P3, U.U_SUCCESS]);
  assert.deepEqual(r.out.x, fill(vm2.lpid));
});

test('a share is two-phase: when the hypervisor fails one frame, every frame stays SECURE with its data, U_P2', () => {
  const r = makeRig({
    guest: {
      *secure(g) {
        for (const [i, a] of [X, Y, Z].entries()) yield* writeThen(g.cpu, a, fill(10 + i));
        const res = yield* call(g.cpu, 2, UV.UV_SHARE_PAGE, X / PAGE_SIZE, 3);
        g.out.rc = rcOf(res[0]!);
        g.out.data = [yield* read(g.cpu, X), yield* read(g.cpu, Y), yield* read(g.cpu, Z)];
      },
    },
  });
  r.hv.hooks.hcall = function* (c) {
    // The third frame's page never comes.
    if (c.nr === HC.H_SVM_PAGE_IN && Number(c.args[0]!) === Z && c.args[1] === BigInt(H_PAGE_IN_SHARED)) { yield* []; return { rc: -4 }; }
    return undefined;
  };
  r.run();
  assert.equal(r.out.rc, U.U_P2);
  assert.deepEqual(r.out.data, [fill(10), fill(11), fill(12)]);
  const svm = r.uv.svms.get(LPID)!;
  assert.deepEqual([X, Y, Z].map((a) => svm.stateOf(a / PAGE_SIZE)), [GPF.SECURE, GPF.SECURE, GPF.SECURE]);
});

test('shared pages are zeroed when shared and when unshared; the hypervisor sees them only while shared', () => {
  const A = fill(3);
  let hvSaw: Uint8Array | undefined;
  const r = rigWith(function* (g) {
    yield* writeThen(g.cpu, X, A);
    g.out.share = rcOf((yield* call(g.cpu, 2, UV.UV_SHARE_PAGE, X / PAGE_SIZE, 1))[0]!);
    g.out.afterShare = yield* read(g.cpu, X, 16);
    yield* writeThen(g.cpu, X, new TextEncoder().encode('to the host'));
    yield* call(g.cpu, 1, HVWORK, 1);
    g.out.fromHost = yield* read(g.cpu, X + 100, 5);
    g.out.unshare = rcOf((yield* call(g.cpu, 2, UV.UV_UNSHARE_PAGE, X / PAGE_SIZE, 1))[0]!);
    g.out.afterUnshare = yield* read(g.cpu, X, 16);
    yield* writeThen(g.cpu, X, new TextEncoder().encode('private'));
    yield* call(g.cpu, 1, HVWORK, 2);
  }, function* (_cpu, hv, vm, arg) {
    yield* [];
    hvSaw = hv.readGuest(vm, X, 16);
    if (arg === 1n) hv.m.host.write(vm.raOf(X + 100), new TextEncoder().encode('hello'));
  });
  const before = r.hv.readGuest(r.vm, X, 16);
  r.run();
  assert.equal(r.out.share, 0);
  assert.deepEqual(r.out.afterShare, new Uint8Array(16), 'zeroed when shared');
  assert.equal(new TextDecoder().decode(r.out.fromHost as Uint8Array), 'hello', 'the SVM sees what the host wrote');
  assert.equal(r.out.unshare, 0);
  assert.deepEqual(r.out.afterUnshare, new Uint8Array(16), 'zeroed when unshared');
  assert.notEqual(new TextDecoder().decode(hvSaw!).slice(0, 7), 'private', 'the host no longer sees the page');
  void before;
});

test('an invalidated shared page faults in the SVM, reaches the hypervisor (HDSI), and is shared again', () => {
  const r = rigWith(function* (g) {
    yield* call(g.cpu, 2, UV.UV_SHARE_PAGE, X / PAGE_SIZE, 1);
    yield* call(g.cpu, 1, HVWORK);
    g.out.state = true;
    g.out.v = yield* read(g.cpu, X, 4);
  }, function* (cpu, hv, vm) {
    const rc = yield* hv.ucall(cpu, UV.UV_PAGE_INVAL, vm.lpid, X, 16);
    hv.log.push(`inval ${rc}`);
    hv.m.host.write(vm.raOf(X), new Uint8Array([1, 2, 3, 4]));
  });
  r.run();
  assert.ok(r.hv.log.includes('inval 0'), r.hv.log.join('\n'));
  assert.ok(r.hv.log.includes(`re-share ${X / PAGE_SIZE} 0`), r.hv.log.join('\n'));
  assert.deepEqual(r.out.v, new Uint8Array([1, 2, 3, 4]));
  assert.equal(r.uv.svms.get(LPID)!.stateOf(X / PAGE_SIZE), GPF.SHARED);
});

test('transient states: UV_PAGE_INVAL during a share (HV_SHARING) and UV_PAGE_OUT or UV_PAGE_INVAL during an unshare (HV_UNSHARED)', () => {
  const seen: Record<string, number> = {};
  const r = makeRig({
    guest: {
      *secure(g) {
        g.out.share = rcOf((yield* call(g.cpu, 2, UV.UV_SHARE_PAGE, X / PAGE_SIZE, 1))[0]!);
        g.out.unshare = rcOf((yield* call(g.cpu, 2, UV.UV_UNSHARE_PAGE, X / PAGE_SIZE, 1))[0]!);
      },
    },
  });
  r.hv.hooks.hcall = function* (c) {
    if (c.nr !== HC.H_SVM_PAGE_IN || Number(c.args[0]!) !== X || r.vm.state !== 'secure') return undefined;
    const ra = r.vm.frameOf(X);
    if (c.args[1] === BigInt(H_PAGE_IN_SHARED)) {
      seen.invalSharing = yield* r.hv.ucall(c.cpu, UV.UV_PAGE_INVAL, LPID, X, 16);
      seen.shareIn = yield* r.hv.ucall(c.cpu, UV.UV_PAGE_IN, LPID, ra, X, 1, 16);
    } else {
      seen.unshareIn = yield* r.hv.ucall(c.cpu, UV.UV_PAGE_IN, LPID, ra, X, 0, 16);
      seen.outUnshared = yield* r.hv.ucall(c.cpu, UV.UV_PAGE_OUT, LPID, ra, X, 0, 16);
      seen.invalUnshared = yield* r.hv.ucall(c.cpu, UV.UV_PAGE_INVAL, LPID, X, 16);
    }
    return { rc: 0 };
  };
  r.run();
  assert.deepEqual(seen, { invalSharing: U.U_P2, shareIn: 0, unshareIn: 0, outUnshared: U.U_RETRY, invalUnshared: U.U_P2 });
  assert.equal(r.out.share, 0);
  assert.equal(r.out.unshare, 0);
});

test('the ultravisor\'s bounce buffers are implicitly shared: the SVM cannot touch them', () => {
  const vectors: number[] = [];
  const r = makeRig({
    guest: {
      *secure(g) {
        const svmTop = (16 << 20) - PAGE_SIZE;
        try { g.cpu.load8(svmTop); g.out.read = true; } catch (e) { g.out.fault = (e as Error).message; }
        yield* retrying(() => g.cpu.load8(svmTop), 1);
      },
      *vector(_g, v) { vectors.push(v); yield { op: 'stop', reason: 'dsi' }; },
    },
  });
  r.run();
  const svm = r.uv.svms.get(LPID)!;
  assert.equal(svm.stateOf(255), GPF.SHARED_IMPLICIT);
  assert.equal(r.out.read, undefined);
  assert.deepEqual(vectors, [0x300], 'a data storage interrupt in the SVM');
});

test('a page the hypervisor left out at INIT_DONE reads as zeros: it cannot supply content after the fact', () => {
  const r = makeRig({
    guest: {
      *secure(g) { g.out.v = yield* read(g.cpu, X, 8); },
    },
  });
  r.hv.m.host.write(r.vm.raOf(X), new TextEncoder().encode('planted!'));
  r.hv.hooks.skipAtInitDone = (gpa) => gpa === X;
  r.run();
  assert.deepEqual(r.out.v, new Uint8Array(8));
});

test('UV_SVM_TERMINATE zeroes and releases every secure page and forgets the SVM', () => {
  const SECRET = new TextEncoder().encode('SECRET-SVM-DATA-0123456789');
  let before = 0;
  const r = rigWith(function* (g) {
    yield* writeThen(g.cpu, X, SECRET);
    yield* call(g.cpu, 1, HVWORK);
  }, function* (cpu, hv, vm) {
    before = r.uv.frames.used;
    assert.ok(hv.m.findInAllMemory(SECRET).some((h) => h.secure), 'control: the secret is in secure memory');
    const rc = yield* hv.ucall(cpu, UV.UV_SVM_TERMINATE, vm.lpid);
    hv.log.push(`terminate ${rc}`);
    yield { op: 'stop', reason: 'terminated' };
  });
  const baseline = r.uv.frames.used;
  r.run();
  assert.ok(r.hv.log.includes('terminate 0'));
  assert.ok(before > baseline + 200);
  assert.equal(r.uv.frames.used, baseline, 'every frame back');
  assert.deepEqual(r.m.findInAllMemory(SECRET), [], 'and zeroed');
  assert.equal(r.uv.svms.has(LPID), false);
});

test('UV_WRITE_PATE cannot redirect an SVM to the hypervisor\'s tables; the SVM keeps its own view', () => {
  const A = fill(9);
  let rc: number | undefined;
  const r = rigWith(function* (g) {
    yield* writeThen(g.cpu, X, A);
    yield* call(g.cpu, 1, HVWORK);
    g.out.after = yield* read(g.cpu, X, 64);
  }, function* (cpu, hv, vm) {
    // The hypervisor's own table for this VM maps its normal frames, which hold other bytes.
    hv.m.host.write(vm.raOf(X), new Uint8Array(64).fill(0xee));
    rc = yield* hv.ucall(cpu, UV.UV_WRITE_PATE, vm.lpid, (1n << 63n) | BigInt(vm.root), 0);
  });
  r.run();
  assert.equal(rc, U.U_PERMISSION);
  assert.deepEqual(r.out.after, A.subarray(0, 64));
});
