// The ultracall handlers, one per row of the ABI table (src/abi/ultracalls.ts). The dispatcher
// in ultravisor.ts has already checked the number (U_FUNCTION), the caller (U_PERMISSION) and
// transactional memory (U_BAD_MODE); each handler checks its arguments in the order PEF.md
// section 4 and 8 give, and either answers at once or starts a context.

import { ESM_REASON, RESTRICTED_SPRS, type UcallDef } from '../abi/ultracalls.js';
import { GPF, PAGE_SHIFT, PAGE_SIZE } from '../abi/pages.js';
import { U } from '../abi/retcodes.js';
import type { Cpu } from '../hw/cpu/cpu.js';
import { ADDR_MASK, ENTRY_VALID, GUEST_SPACE, LEVEL_BYTES } from '../hw/mmu.js';
import { LockedError } from '../hw/faults.js';
import type { ContextFlow } from './context.js';
import { esmFlow } from './esm.js';
import { asCall, pageIn, pageInval, pageOut, releaseAll, releaseRange, share, unshare } from './pages.js';
import { DEFAULT_SCOM, scomVerdict } from './scom.js';
import { MAX_SLOTS, Svm } from './svm.js';
import { PARTITION_ENTRIES, SvmTables } from './tables.js';
import type { Ultravisor } from './ultravisor.js';

export type Outcome =
  | { rc: number; out?: bigint[] }
  | { context: { name: string; flow: ContextFlow; srr1?: bigint } }
  | { uvReturn: true };

type Handler = (uv: Ultravisor, cpu: Cpu, a: bigint[], msr: bigint) => Outcome;

const ok = (out?: bigint[]): Outcome => ({ rc: U.U_SUCCESS, out });
const err = (rc: number): Outcome => ({ rc });
const num = (v: bigint): number => (v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : Number.MAX_SAFE_INTEGER);

/** File names are packed big-endian, NUL-padded, into consecutive registers. */
export function unpackName(regs: readonly bigint[]): string | undefined {
  const bytes: number[] = [];
  for (const r of regs) for (let i = 7; i >= 0; i--) bytes.push(Number((r >> BigInt(8 * i)) & 0xffn));
  const end = bytes.indexOf(0);
  const name = String.fromCharCode(...(end < 0 ? bytes : bytes.slice(0, end)));
  return /^[A-Za-z][0-9A-Za-z,._+-]{0,30}$/.test(name) ? name : undefined;
}
export function packBytes(data: Uint8Array, regs: number): bigint[] {
  const out: bigint[] = [];
  for (let r = 0; r < regs; r++) {
    let v = 0n;
    for (let i = 0; i < 8; i++) v = (v << 8n) | BigInt(data[r * 8 + i] ?? 0);
    out.push(v);
  }
  return out;
}

/** The page ultracalls' common checks: shift, the hypervisor page, the lpid, the guest address. */
function pageArgs(uv: Ultravisor, lpid: bigint, hvRa: bigint | undefined, gpa: bigint, shift: bigint, codes: { shift: number; gpa: number }):
  { svm: Svm; gfn: number; hv: number } | Outcome {
  if (shift !== BigInt(PAGE_SHIFT)) return err(codes.shift);
  let hv = 0;
  if (hvRa !== undefined) {
    hv = num(hvRa);
    if (!uv.mem.isNormalPage(hv)) return err(U.U_P2);
  }
  const svm = uv.svms.get(num(lpid));
  if (!svm) return err(U.U_PARAMETER);
  const g = num(gpa);
  if (g % PAGE_SIZE !== 0 || !svm.inSlots(g / PAGE_SIZE)) return err(codes.gpa);
  return { svm, gfn: g / PAGE_SIZE, hv };
}

function gfnRange(svm: Svm, gfn: bigint, npages: bigint): number[] | number {
  if (npages === 0n || npages > 1n << 20n) return U.U_P3;
  const first = num(gfn), n = Number(npages);
  const out: number[] = [];
  for (let g = first; g < first + n; g++) {
    if (!svm.inSlots(g)) return U.U_P2;
    out.push(g);
  }
  return out;
}

export const HANDLERS: Record<string, Handler> = {
  UV_WRITE_PATE(uv, _cpu, [lpid, dw0, dw1]) {
    const l = num(lpid!);
    if (l >= PARTITION_ENTRIES) return err(U.U_PARAMETER);
    // An SVM's entry points at tables the ultravisor owns; the hypervisor cannot move it.
    if (uv.svms.has(l)) { uv.event({ kind: 'pate-refused', lpid: l }); return err(U.U_PERMISSION); }
    if ((dw0! & ENTRY_VALID) !== 0n) {
      const root = Number(dw0! & ADDR_MASK);
      if (root % 4096 !== 0 || !uv.mem.isNormalRange(root, LEVEL_BYTES)) return err(U.U_P2);
    }
    uv.ptab.write(uv.mem, l, dw0!, dw1!);
    uv.pageEnv.tlbie();
    return ok();
  },

  UV_RESTRICTED_SPR_WRITE(_uv, cpu, [spr, value]) {
    if (!RESTRICTED_SPRS.includes(num(spr!))) return err(U.U_PARAMETER);
    cpu.mtspr(num(spr!), value!);
    return ok();
  },

  UV_RESTRICTED_SPR_READ(_uv, cpu, [spr]) {
    if (!RESTRICTED_SPRS.includes(num(spr!))) return err(U.U_PARAMETER);
    return ok([0n, cpu.mfspr(num(spr!))]);
  },

  UV_ESM(uv, cpu, [kbase, fdt], msr) {
    const lpid = cpu.lpid;
    if (kbase === 0n) return err(U.U_P2);
    if (fdt === 0n) return err(U.U_P3);
    if (uv.svms.has(lpid)) return err(U.U_RETRY);
    if (kbase! >= BigInt(GUEST_SPACE) || fdt! >= BigInt(GUEST_SPACE)) return err(U.U_PARAMETER);
    uv.esmReasons.set(lpid, ESM_REASON.NONE!);
    const tables = SvmTables.create(uv.blocks);
    if (!tables) { uv.esmReasons.set(lpid, ESM_REASON.NO_SECURE_MEMORY!); return err(U.U_BUSY); }
    const svm = new Svm(lpid, tables, msr);
    uv.svms.set(lpid, svm);
    uv.event({ kind: 'esm', lpid, result: 'started' });
    return { context: { name: 'UV_ESM', flow: esmFlow(uv, svm, Number(kbase), Number(fdt)) } };
  },

  UV_READ_SCOM(uv, cpu, [chip, addr]) {
    const v = scomVerdict(uv.config.scom ?? DEFAULT_SCOM, num(addr!));
    if (v !== 'ok') return err(v === 'denied' ? U.U_PERMISSION : U.U_PARAMETER);
    return ok([cpu.scomRead(num(chip!), num(addr!))]);
  },

  UV_WRITE_SCOM(uv, cpu, [chip, addr, value]) {
    const v = scomVerdict(uv.config.scom ?? DEFAULT_SCOM, num(addr!));
    if (v !== 'ok') return err(v === 'denied' ? U.U_PERMISSION : U.U_PARAMETER);
    try { cpu.scomWrite(num(chip!), num(addr!), value!); } catch (e) {
      if (e instanceof LockedError) return err(U.U_PERMISSION);
      throw e;
    }
    return ok();
  },

  UV_RETURN() { return { uvReturn: true }; },

  UV_REGISTER_MEM_SLOT(uv, _cpu, [lpid, start, size, _flags, slotid]) {
    const svm = uv.svms.get(num(lpid!));
    if (!svm) return err(U.U_PARAMETER);
    if (svm.state === 'aborting') return err(U.U_STATE);
    const s = num(start!), n = num(size!), id = num(slotid!);
    if (s % PAGE_SIZE !== 0 || s >= GUEST_SPACE) return err(U.U_P2);
    if (n === 0 || n % PAGE_SIZE !== 0 || s + n > GUEST_SPACE) return err(U.U_P3);
    if (id >= MAX_SLOTS) return err(U.U_P5);
    if (svm.slots.has(id)) return err(U.U_P5);
    for (const o of svm.slots.values()) if (s < o.start + o.size && o.start < s + n) return err(U.U_PARAMETER);
    if (!svm.tables.reserve(uv.mem, s / PAGE_SIZE, n / PAGE_SIZE)) { svm.outOfMemory = true; return err(U.U_BUSY); }
    svm.slots.set(id, { id, start: s, size: n, flags: _flags! });
    return ok();
  },

  UV_UNREGISTER_MEM_SLOT(uv, _cpu, [lpid, slotid]) {
    const svm = uv.svms.get(num(lpid!));
    if (!svm) return err(U.U_PARAMETER);
    const slot = svm.slots.get(num(slotid!));
    if (!slot) return err(U.U_P2);
    // Dropping the memory of a VM that is (becoming) secure would let the hypervisor re-register
    // the slot and have the SVM's verified pages come back as zero-filled or freshly paged-in
    // ones. Only an aborted SVM gives its slots back; a secure one is ended by UV_SVM_TERMINATE.
    if (svm.state !== 'aborting') return err(U.U_STATE);
    releaseRange(uv.pageEnv, svm, slot.start / PAGE_SIZE, slot.size / PAGE_SIZE);
    svm.slots.delete(slot.id);
    return ok();
  },

  UV_PAGE_IN(uv, _cpu, [lpid, hvRa, gpa, flags, shift]) {
    const p = pageArgs(uv, lpid!, hvRa!, gpa!, shift!, { shift: U.U_P5, gpa: U.U_P3 });
    if (!('svm' in p)) return p;
    if (p.svm.state === 'aborting') return err(U.U_STATE);
    if (flags! > 1n) return err(U.U_P4);
    return { rc: pageIn(uv.pageEnv, p.svm, p.hv, p.gfn, Number(flags)) };
  },

  UV_PAGE_OUT(uv, _cpu, [lpid, hvRa, gpa, flags, shift]) {
    const p = pageArgs(uv, lpid!, hvRa!, gpa!, shift!, { shift: U.U_P5, gpa: U.U_P3 });
    if (!('svm' in p)) return p;
    if (flags !== 0n) return err(U.U_P4);
    return { rc: pageOut(uv.pageEnv, p.svm, p.hv, p.gfn) };
  },

  UV_SHARE_PAGE(uv, cpu, [gfn, npages]) {
    const svm = uv.svms.get(cpu.lpid)!;
    const r = gfnRange(svm, gfn!, npages!);
    if (typeof r === 'number') return err(r);
    return { context: { name: 'UV_SHARE_PAGE', flow: asCall(share(uv.pageEnv, svm, r, false)) } };
  },

  UV_UNSHARE_PAGE(uv, cpu, [gfn, npages]) {
    const svm = uv.svms.get(cpu.lpid)!;
    const r = gfnRange(svm, gfn!, npages!);
    if (typeof r === 'number') return err(r);
    return { context: { name: 'UV_UNSHARE_PAGE', flow: asCall(unshare(uv.pageEnv, svm, r)) } };
  },

  UV_PAGE_INVAL(uv, _cpu, [lpid, gpa, shift]) {
    const p = pageArgs(uv, lpid!, undefined, gpa!, shift!, { shift: U.U_P3, gpa: U.U_P2 });
    if (!('svm' in p)) return p;
    if (p.svm.state === 'aborting') return err(U.U_STATE);
    return { rc: pageInval(uv.pageEnv, p.svm, p.gfn) };
  },

  UV_SVM_TERMINATE(uv, _cpu, [lpid]) {
    const l = num(lpid!);
    const svm = uv.svms.get(l);
    if (!svm) return err(U.U_PARAMETER);
    releaseAll(uv.pageEnv, svm);
    svm.wipeKeys();
    uv.ptab.write(uv.mem, l, 0n, 0n);
    uv.svms.delete(l);
    uv.dropPending(l);
    uv.pageEnv.tlbie();
    uv.event({ kind: 'svm-terminated', lpid: l });
    return ok();
  },

  UV_UNSHARE_ALL_PAGES(uv, cpu) {
    const svm = uv.svms.get(cpu.lpid)!;
    const gfns = [...svm.pages].filter(([, e]) => (e.state === GPF.SHARED || e.state === GPF.SHARED_INV) && !e.implicit).map(([g]) => g);
    return { context: { name: 'UV_UNSHARE_ALL_PAGES', flow: asCall(unshare(uv.pageEnv, svm, gfns)) } };
  },

  UV_READ_MEM(uv, _cpu, [buffer, handle, offset, size]) { return firmwareMem(uv, buffer!, handle!, offset!, size!, false); },
  UV_WRITE_MEM(uv, _cpu, [buffer, handle, offset, size]) { return firmwareMem(uv, buffer!, handle!, offset!, size!, true); },

  UV_ESMB_GET_FILE(uv, cpu, [offset, n0, n1, n2, n3]) {
    const svm = uv.svms.get(cpu.lpid)!;
    const name = unpackName([n0!, n1!, n2!, n3!]);
    if (name === undefined) return err(U.U_P2);
    const f = svm.files.get(name);
    if (!f) return err(U.U_P2);
    const off = num(offset!);
    const chunk = off >= f.length ? new Uint8Array(0) : f.subarray(off, off + 64);
    return { rc: chunk.length, out: packBytes(chunk, 8) };
  },

  UV_SEND_SBE_COMMAND() {
    // The model machine has no self-boot engine to talk to.
    return err(U.U_NOT_AVAILABLE);
  },

  UV_SVM_KEY_FINGERPRINT(uv, cpu) {
    const fp = uv.svms.get(cpu.lpid)?.fingerprint;
    if (!fp) return err(U.U_NOT_AVAILABLE);
    return ok(packBytes(fp, 4));
  },

  UV_ESM_REASON(uv, cpu) {
    return ok([BigInt(uv.lastEsmReason(cpu.lpid))]);
  },
};

function firmwareMem(uv: Ultravisor, buffer: bigint, handle: bigint, offset: bigint, size: bigint, write: boolean): Outcome {
  const region = (uv.config.firmwareMemory ?? []).find((r) => BigInt(r.handle) === handle);
  if (!region) return err(U.U_P2);
  const off = num(offset), n = num(size);
  if (off > region.size) return err(U.U_P3);
  if (n > region.size - off || n > 1 << 24) return err(U.U_P4);
  if (write && !region.writable) return err(U.U_PERMISSION);
  const buf = num(buffer);
  if (!uv.mem.isNormalRange(buf, n)) return err(U.U_PARAMETER);
  if (write) uv.mem.write(region.ra + off, uv.mem.read(buf, n));
  else uv.mem.write(buf, uv.mem.read(region.ra + off, n));
  return ok();
}

/** Every ultracall of the ABI table has a handler (checked by the tests). */
export function handlerFor(def: UcallDef): Handler | undefined { return HANDLERS[def.name]; }
