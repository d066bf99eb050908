// uvmem: the hypervisor's side of secure memory, as KVM's book3s_hv_uvmem.c. Each guest frame
// is normal, secure (held by the ultravisor; the hypervisor keeps no copy), paged-out (a normal
// frame holding the ultravisor's ciphertext) or shared. The hypervisor gets an SVM page only
// through UV_PAGE_OUT. It counts the secure frames it gave the ultravisor and, over its budget,
// reclaims the oldest with UV_PAGE_OUT; the ultravisor takes them back on demand through
// H_SVM_PAGE_IN when the SVM touches them again.

import type { Cpu } from '../hw/cpu/cpu.js';
import type { Op } from '../hw/cpu/software.js';
import { FRAME_SIZE } from '../hw/memory.js';
import { H, U, retName } from '../abi/retcodes.js';
import { UV } from '../abi/ultracalls.js';
import { H_PAGE_IN_SHARED, PAGE_SHIFT, type UvmemState } from '../abi/pages.js';
import { ucall } from './ucall.js';
import type { Hypervisor } from './kvm.js';
import type { Vcpu, Vm } from './vm.js';

/** Secure frames the hypervisor has given the ultravisor, oldest first (its reclaim order). */
export class SecureAccounting {
  readonly #order = new Map<string, { vm: Vm; gfn: number }>();
  reclaimed = 0;
  constructor(public budget: number) {}
  get inUse(): number { return this.#order.size; }
  add(vm: Vm, gfn: number): void { this.#order.set(`${vm.lpid}:${gfn}`, { vm, gfn }); }
  remove(vm: Vm, gfn: number): void { this.#order.delete(`${vm.lpid}:${gfn}`); }
  dropVm(vm: Vm): void { for (const [k, e] of this.#order) if (e.vm === vm) this.#order.delete(k); }
  *candidates(): Generator<{ vm: Vm; gfn: number }> { yield* [...this.#order.values()]; }
}

/** Return codes of UV_PAGE_IN that mean "no secure memory now": reclaim and try again. */
const RETRYABLE = new Set<number>([U.U_BUSY, U.U_NOT_AVAILABLE, U.U_RETRY]);

function setState(hv: Hypervisor, vm: Vm, gfn: number, to: UvmemState, frame?: number): void {
  const from = vm.pages.get(gfn)?.state ?? 'normal';
  if (to === 'normal' && frame === undefined) vm.pages.delete(gfn);
  else vm.pages.set(gfn, frame === undefined ? { state: to } : { state: to, frame });
  if (from !== to) hv.trace({ kind: 'page', vm: vm.name, lpid: vm.lpid, gpa: '0x' + (gfn * FRAME_SIZE).toString(16), from, to });
}

/** Give the ultravisor one guest page as a secure page (a plain copy before the SVM is secure, decrypted and verified after). */
export function* pageInSecure(hv: Hypervisor, cpu: Cpu, vm: Vm, gfn: number): Generator<Op, number, void> {
  const p = vm.pages.get(gfn);
  if (p?.state === 'secure') return H.H_SUCCESS;
  const gpa = gfn * FRAME_SIZE;
  const fresh = p?.frame === undefined;
  const frame = p?.frame ?? hv.pool.alloc(`${vm.name} page-in`);
  yield* makeRoom(hv, cpu, vm, gfn);
  for (let attempt = 0; ; attempt++) {
    const r = yield* ucall(cpu, UV.UV_PAGE_IN, vm.lpid, frame, gpa, 0, PAGE_SHIFT);
    if (r.rc === U.U_SUCCESS) break;
    if (attempt < 8 && RETRYABLE.has(r.rc) && (yield* reclaimOne(hv, cpu, vm, gfn))) continue;
    if (fresh) hv.pool.free(frame);
    hv.trace({ kind: 'uvmem-error', vm: vm.name, call: 'UV_PAGE_IN', gpa: '0x' + gpa.toString(16), rc: retName(r.rc, 'U') });
    return H.H_PARAMETER;
  }
  if (p?.state === 'normal') vm.table.unmap(gpa);
  hv.pool.free(frame);
  setState(hv, vm, gfn, 'secure');
  hv.secure.add(vm, gfn);
  return H.H_SUCCESS;
}

/** Take a secure page back from the ultravisor, encrypted, into a fresh normal frame. */
export function* pageOutToHv(hv: Hypervisor, cpu: Cpu, vm: Vm, gfn: number): Generator<Op, number, void> {
  const gpa = gfn * FRAME_SIZE;
  const frame = hv.pool.alloc(`${vm.name} page-out`);
  const r = yield* ucall(cpu, UV.UV_PAGE_OUT, vm.lpid, frame, gpa, 0, PAGE_SHIFT);
  if (r.rc !== U.U_SUCCESS) { hv.pool.free(frame); return r.rc; }
  hv.opts.spy?.pageOut?.(vm, gpa, hv.machine.host.read(frame, FRAME_SIZE));
  hv.secure.remove(vm, gfn);
  setState(hv, vm, gfn, 'paged-out', frame);
  return U.U_SUCCESS;
}

/** Reclaim the oldest secure page of any secure SVM but (vm, gfn). */
export function* reclaimOne(hv: Hypervisor, cpu: Cpu, vm: Vm, gfn: number): Generator<Op, boolean, void> {
  for (const c of hv.secure.candidates()) {
    if ((c.vm === vm && c.gfn === gfn) || c.vm.svm !== 'secure' || c.vm.done) continue;
    const rc = yield* pageOutToHv(hv, cpu, c.vm, c.gfn);
    if (rc === U.U_SUCCESS) {
      hv.secure.reclaimed++;
      hv.trace({ kind: 'reclaim', vm: c.vm.name, lpid: c.vm.lpid, gpa: '0x' + (c.gfn * FRAME_SIZE).toString(16) });
      return true;
    }
    // Not a page the ultravisor gives out (it keeps RTAS text pseudo-shared, say): stop trying it.
    if (rc === U.U_PARAMETER) hv.secure.remove(c.vm, c.gfn);
  }
  return false;
}

function* makeRoom(hv: Hypervisor, cpu: Cpu, vm: Vm, gfn: number): Generator<Op, void, void> {
  while (hv.secure.inUse >= hv.secure.budget) {
    if (!(yield* reclaimOne(hv, cpu, vm, gfn))) return;
  }
}

/** A shared page: a normal frame the ultravisor maps into the SVM, readable by both. */
function* sharePage(hv: Hypervisor, cpu: Cpu, vm: Vm, gfn: number): Generator<Op, number, void> {
  const p = vm.pages.get(gfn);
  const gpa = gfn * FRAME_SIZE;
  const reuse = (p?.state === 'normal' || p?.state === 'shared') && p.frame !== undefined;
  const frame = reuse ? p!.frame! : hv.pool.alloc(`${vm.name} shared page`);
  const r = yield* ucall(cpu, UV.UV_PAGE_IN, vm.lpid, frame, gpa, H_PAGE_IN_SHARED, PAGE_SHIFT);
  if (r.rc !== U.U_SUCCESS) {
    if (!reuse) hv.pool.free(frame);
    hv.trace({ kind: 'uvmem-error', vm: vm.name, call: 'UV_PAGE_IN (share)', gpa: '0x' + gpa.toString(16), rc: retName(r.rc, 'U') });
    return H.H_PARAMETER;
  }
  if (p?.state === 'secure') hv.secure.remove(vm, gfn);
  if (p?.state === 'paged-out' && p.frame !== undefined) hv.pool.free(p.frame);
  setState(hv, vm, gfn, 'shared', frame);
  return H.H_SUCCESS;
}

export type Ret = { kind: 'return'; rc: number; out?: bigint[] };
const ret = (rc: number, out?: bigint[]): Ret => (out ? { kind: 'return', rc, out } : { kind: 'return', rc });

/** Checks shared by H_SVM_PAGE_IN/OUT: the caller, the flags, the shift, the address. */
function pageArgs(v: Vcpu, gpa: number, flags: number, shift: number, allowed: number[]): number | undefined {
  if (!v.viaUltravisor || v.vm.svm === 'normal') return H.H_UNSUPPORTED;
  if (!allowed.includes(flags)) return H.H_P2;
  if (shift !== PAGE_SHIFT) return H.H_P3;
  if (gpa % FRAME_SIZE !== 0 || !v.vm.slotOf(gpa)) return H.H_PARAMETER;
  return undefined;
}

export function* hSvmPageIn(hv: Hypervisor, cpu: Cpu, v: Vcpu, gpa: number, flags: number, shift: number): Generator<Op, Ret, void> {
  const bad = pageArgs(v, gpa, flags, shift, [0, H_PAGE_IN_SHARED]);
  if (bad !== undefined) return ret(bad);
  const gfn = gpa / FRAME_SIZE;
  return ret(flags === H_PAGE_IN_SHARED ? yield* sharePage(hv, cpu, v.vm, gfn) : yield* pageInSecure(hv, cpu, v.vm, gfn));
}

export function* hSvmPageOut(hv: Hypervisor, cpu: Cpu, v: Vcpu, gpa: number, flags: number, shift: number): Generator<Op, Ret, void> {
  const bad = pageArgs(v, gpa, flags, shift, [0]);
  if (bad !== undefined) return ret(bad);
  const gfn = gpa / FRAME_SIZE;
  const p = v.vm.pages.get(gfn);
  if (p?.state === 'paged-out') return ret(H.H_SUCCESS);
  if (p && p.state !== 'secure') return ret(H.H_PARAMETER);
  const rc = yield* pageOutToHv(hv, cpu, v.vm, gfn);
  return ret(rc === U.U_SUCCESS ? H.H_SUCCESS : H.H_PARAMETER);
}

export function* hSvmInitStart(hv: Hypervisor, cpu: Cpu, v: Vcpu): Generator<Op, Ret, void> {
  const vm = v.vm;
  if (!v.viaUltravisor) return ret(H.H_UNSUPPORTED);
  if (vm.svm === 'secure') return ret(H.H_STATE);
  // The state first: every path from here on, errors included, returns through UV_RETURN.
  vm.svm = 'init-started';
  hv.trace({ kind: 'vm', event: 'init-start', vm: vm.name, lpid: vm.lpid });
  if (!vm.config.secureGuest) return ret(H.H_AUTHORITY);
  for (const s of vm.slots) {
    const r = yield* ucall(cpu, UV.UV_REGISTER_MEM_SLOT, vm.lpid, s.start, s.size, 0, s.id);
    if (r.rc !== U.U_SUCCESS) {
      hv.trace({ kind: 'uvmem-error', vm: vm.name, call: 'UV_REGISTER_MEM_SLOT', rc: retName(r.rc, 'U') });
      return ret(H.H_PARAMETER);
    }
  }
  return ret(H.H_SUCCESS);
}

export function* hSvmInitDone(hv: Hypervisor, cpu: Cpu, v: Vcpu): Generator<Op, Ret, void> {
  const vm = v.vm;
  if (!v.viaUltravisor || vm.svm !== 'init-started') return ret(H.H_UNSUPPORTED);
  // Every page the VM has touched moves into secure memory; untouched ones stay holes that
  // H_SVM_PAGE_IN fills with a zero page when the SVM first needs them.
  const todo = [...vm.pages.entries()].filter(([, p]) => p.state === 'normal').map(([gfn]) => gfn);
  for (const gfn of todo) {
    const rc = yield* pageInSecure(hv, cpu, vm, gfn);
    if (rc !== H.H_SUCCESS) return ret(rc);
  }
  hv.machine.tlbieAll();
  vm.svm = 'secure';
  vm.secureEntries++;
  hv.trace({ kind: 'vm', event: 'secure', vm: vm.name, lpid: vm.lpid, migrated: todo.length });
  return ret(H.H_SUCCESS);
}

/** The transition failed: take every page back, terminate the SVM, and fail the VM's UV_ESM with H_PARAMETER. */
export function* hSvmInitAbort(hv: Hypervisor, cpu: Cpu, v: Vcpu): Generator<Op, Ret, void> {
  const vm = v.vm;
  // It comes in the VM's own (non-secure) context: the state, not SRR1, says whether it is legal.
  if (vm.svm !== 'init-started') return ret(H.H_UNSUPPORTED);
  for (const [gfn, p] of [...vm.pages.entries()]) {
    const gpa = gfn * FRAME_SIZE;
    if (p.state === 'secure') {
      const frame = hv.pool.alloc(`${vm.name} abort`);
      const r = yield* ucall(cpu, UV.UV_PAGE_OUT, vm.lpid, frame, gpa, 0, PAGE_SHIFT);
      hv.secure.remove(vm, gfn);
      if (r.rc === U.U_SUCCESS) { setState(hv, vm, gfn, 'normal', frame); vm.table.map(gpa, frame); }
      else { hv.pool.free(frame); setState(hv, vm, gfn, 'normal'); }
    } else if (p.state === 'shared' && p.frame !== undefined) {
      setState(hv, vm, gfn, 'normal', p.frame);
      vm.table.map(gpa, p.frame);
    } else if (p.state === 'paged-out') {
      if (p.frame !== undefined) hv.pool.free(p.frame);
      setState(hv, vm, gfn, 'normal');
    }
  }
  const t = yield* ucall(cpu, UV.UV_SVM_TERMINATE, vm.lpid);
  if (t.rc !== U.U_SUCCESS) hv.trace({ kind: 'uvmem-error', vm: vm.name, call: 'UV_SVM_TERMINATE', rc: retName(t.rc, 'U') });
  vm.svm = 'normal';
  // The VM goes on as a normal VM: make sure its own table is the registered one again.
  const w = yield* ucall(cpu, UV.UV_WRITE_PATE, vm.lpid, vm.table.pate0, 0);
  vm.pateRegistered = w.rc === U.U_SUCCESS;
  hv.machine.tlbieAll();
  hv.trace({ kind: 'vm', event: 'init-abort', vm: vm.name, lpid: vm.lpid });
  return ret(H.H_PARAMETER);
}

/**
 * Turn an SVM back into a normal VM for a reset or a destroy (KVM_PPC_SVM_OFF): drop its pages,
 * UV_SVM_TERMINATE (which also forgets its slots), unpin its VPAs. Frames are released by the caller.
 */
export function* svmOff(hv: Hypervisor, cpu: Cpu, vm: Vm): Generator<Op, void, void> {
  for (const [gfn, p] of [...vm.pages.entries()]) {
    if (p.state === 'secure') { vm.pages.delete(gfn); continue; }
    if (p.state !== 'normal') setState(hv, vm, gfn, 'normal', p.frame);
  }
  hv.secure.dropVm(vm);
  // UV_SVM_TERMINATE forgets the SVM's slots with it; the ultravisor refuses to unregister a
  // slot of an SVM that is still secure.
  const t = yield* ucall(cpu, UV.UV_SVM_TERMINATE, vm.lpid);
  if (t.rc !== U.U_SUCCESS) hv.trace({ kind: 'uvmem-error', vm: vm.name, call: 'UV_SVM_TERMINATE', rc: retName(t.rc, 'U') });
  for (const v of vm.vcpus) v.vpa = undefined;
  vm.svm = 'normal';
  hv.trace({ kind: 'vm', event: 'svm-off', vm: vm.name, lpid: vm.lpid });
}
