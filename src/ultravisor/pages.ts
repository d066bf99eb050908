// The page-state machine of PEF.md section 8. The synchronous half answers the hypervisor's
// page ultracalls (UV_PAGE_IN, UV_PAGE_OUT, UV_PAGE_INVAL); the context half (generators)
// does what needs the hypervisor's help: two-phase share and unshare, bringing a paged-out
// frame back, and giving frames back when secure memory runs short (overcommit).
//
// Invariant: a frame's secure page is zeroed before it goes back to the allocator, and the
// SVM's table maps a frame only in SECURE (its secure page), SHARED (the hypervisor's page)
// and PSEUDO_SHARED (its secure page, read-only for RTAS text).

import { GPF, H_PAGE_IN_SHARED, PAGE_SIZE, gpfName } from '../abi/pages.js';
import { HC } from '../abi/hcalls.js';
import { U } from '../abi/retcodes.js';
import type { SecureFrameAllocator } from './alloc.js';
import type { ContextFlow, HcallRequest } from './context.js';
import type { UvMemory } from './memory.js';
import type { GfnEntry, Svm } from './svm.js';

export interface PageEnv {
  readonly mem: UvMemory;
  readonly frames: SecureFrameAllocator;
  /** Broadcast tlbie: no thread keeps a translation the ultravisor just removed. */
  tlbie(): void;
  event(e: Record<string, unknown>): void;
  /** Every SVM that is running (overcommit may take frames from any of them). */
  secureSvms(): Iterable<Svm>;
  /** A machine-wide clock for "oldest page first". */
  tick(): number;
}

const SHIFT = 16n;
type Gen<T> = Generator<HcallRequest, T, { rc: number; out: bigint[] }>;

function setState(env: PageEnv, svm: Svm, gfn: number, e: GfnEntry, to: number): void {
  if (e.state !== to) env.event({ kind: 'page', lpid: svm.lpid, gfn, was: gpfName(e.state), now: gpfName(to) });
  e.state = to;
}

function freeSecure(env: PageEnv, svm: Svm, gfn: number, e: GfnEntry): void {
  if (e.secure === undefined) return;
  env.mem.zero(e.secure);
  env.frames.release(e.secure);
  e.secure = undefined;
  svm.resident.delete(gfn);
}

function installSecure(env: PageEnv, svm: Svm, gfn: number, e: GfnEntry, ra: number): void {
  e.secure = ra;
  svm.tables.map(env.mem, gfn, ra, true);
  svm.resident.delete(gfn);
  svm.resident.set(gfn, env.tick());
}

// ---- the hypervisor's page ultracalls -------------------------------------------------------

/** UV_PAGE_IN after the common argument checks. */
export function pageIn(env: PageEnv, svm: Svm, hvRa: number, gfn: number, flags: number): number {
  const e = svm.pages.get(gfn);
  const st = e?.state ?? GPF.SECURE;
  if (flags === H_PAGE_IN_SHARED) {
    if (!e) return U.U_P2;
    const to = ({
      [GPF.HV_SHARING]: GPF.HV_SHARED, [GPF.HV_SHARED_INV]: GPF.HV_SHARED, [GPF.SHARED_INV]: GPF.SHARED,
      [GPF.SHARED_IMPLICIT_INV]: GPF.SHARED_IMPLICIT, [GPF.PSEUDO_SHARED_INV]: GPF.PSEUDO_SHARED,
    } as Record<number, number>)[st];
    if (to === undefined) return U.U_P2;
    if (to !== GPF.PSEUDO_SHARED) e.hv = hvRa;
    if (to === GPF.SHARED) svm.tables.map(env.mem, gfn, hvRa, true);
    setState(env, svm, gfn, e, to);
    return U.U_SUCCESS;
  }
  if (st === GPF.HV_UNSHARING || st === GPF.HV_UNSHARING_INV) {
    // The hypervisor acknowledges an unshare: its page's contents are not taken.
    const f = env.frames.alloc();
    if (f === undefined) return U.U_BUSY;
    e!.secure = f;
    setState(env, svm, gfn, e!, GPF.HV_UNSHARED);
    return U.U_SUCCESS;
  }
  if (st === GPF.PAGEDOUT) {
    const f = env.frames.alloc();
    if (f === undefined) { svm.outOfMemory = true; return U.U_BUSY; }
    if (!svm.crypt.open(env.mem, gfn, e!.sealed!, hvRa, f, PAGE_SIZE)) {
      env.frames.release(f);
      env.event({ kind: 'page-verify-failed', lpid: svm.lpid, gfn });
      return U.U_P3;
    }
    e!.sealed = undefined;
    installSecure(env, svm, gfn, e!, f);
    setState(env, svm, gfn, e!, GPF.SECURE);
    return U.U_SUCCESS;
  }
  // A plain copy only while the VM is becoming secure, and only into a frame not yet brought in:
  // a page the ultravisor already holds (and may have verified) is never replaced.
  if (st !== GPF.SECURE || e?.secure !== undefined || svm.state !== 'init') return U.U_P2;
  const f = env.frames.alloc();
  if (f === undefined) { svm.outOfMemory = true; return U.U_BUSY; }
  env.mem.copy(f, hvRa, PAGE_SIZE);
  const ne = svm.entry(gfn);
  installSecure(env, svm, gfn, ne, f);
  return U.U_SUCCESS;
}

/** UV_PAGE_OUT after the common argument checks. */
export function pageOut(env: PageEnv, svm: Svm, hvRa: number, gfn: number): number {
  const e = svm.pages.get(gfn);
  if (e?.state === GPF.HV_UNSHARED) return U.U_RETRY;
  if (!e || e.state !== GPF.SECURE || e.secure === undefined) return U.U_PARAMETER;
  if (svm.state === 'aborting') {
    // The VM goes back to being a normal VM: it gets its memory back as it is.
    env.mem.copyPage(e.secure, hvRa);
    svm.tables.unmap(env.mem, gfn);
    freeSecure(env, svm, gfn, e);
    svm.pages.delete(gfn);
    env.tlbie();
    return U.U_SUCCESS;
  }
  const version = e.version + 1n;
  const sealed = svm.crypt.seal(env.mem, gfn, version, e.secure, hvRa, PAGE_SIZE);
  svm.tables.unmap(env.mem, gfn);
  env.tlbie();
  freeSecure(env, svm, gfn, e);
  e.version = version;
  e.sealed = sealed;
  setState(env, svm, gfn, e, GPF.PAGEDOUT);
  return U.U_SUCCESS;
}

/** UV_PAGE_INVAL after the common argument checks: the hypervisor dropped its mapping. */
export function pageInval(env: PageEnv, svm: Svm, gfn: number): number {
  const e = svm.pages.get(gfn);
  if (!e) return U.U_P2;
  const to = ({
    [GPF.SHARED]: GPF.SHARED_INV, [GPF.SHARED_IMPLICIT]: GPF.SHARED_IMPLICIT_INV, [GPF.HV_SHARED]: GPF.HV_SHARED_INV,
    [GPF.HV_UNSHARING]: GPF.HV_UNSHARING_INV, [GPF.PSEUDO_SHARED]: GPF.PSEUDO_SHARED_INV,
    [GPF.SHARED_INV]: GPF.SHARED_INV, [GPF.SHARED_IMPLICIT_INV]: GPF.SHARED_IMPLICIT_INV,
    [GPF.HV_SHARED_INV]: GPF.HV_SHARED_INV, [GPF.HV_UNSHARING_INV]: GPF.HV_UNSHARING_INV,
    [GPF.PSEUDO_SHARED_INV]: GPF.PSEUDO_SHARED_INV,
  } as Record<number, number>)[e.state];
  if (to === undefined) return U.U_P2;
  if (e.state === GPF.SHARED) { svm.tables.unmap(env.mem, gfn); env.tlbie(); }
  if (to !== GPF.PSEUDO_SHARED_INV) e.hv = undefined;
  setState(env, svm, gfn, e, to);
  return U.U_SUCCESS;
}

/** Zero and release every secure page of the SVM and its tables (UV_SVM_TERMINATE). */
export function releaseAll(env: PageEnv, svm: Svm): void {
  for (const [gfn, e] of svm.pages) freeSecure(env, svm, gfn, e);
  svm.pages.clear();
  svm.resident.clear();
  svm.tables.release(env.mem);
  env.tlbie();
}

/** Drop the frames of one slot (UV_UNREGISTER_MEM_SLOT). */
export function releaseRange(env: PageEnv, svm: Svm, startGfn: number, n: number): void {
  for (let g = startGfn; g < startGfn + n; g++) {
    const e = svm.pages.get(g);
    if (!e) continue;
    svm.tables.unmap(env.mem, g);
    freeSecure(env, svm, g, e);
    svm.pages.delete(g);
  }
  env.tlbie();
}

// ---- work that needs the hypervisor (run on a context) -----------------------------------

const pageInReq = (gfn: number, flags: number): HcallRequest => ({ nr: HC.H_SVM_PAGE_IN, args: [BigInt(gfn * PAGE_SIZE), BigInt(flags), SHIFT] });

/** The oldest resident frame of all running SVMs (each SVM's map is oldest first), other than `keep`. */
function pickVictim(env: PageEnv, keep: { lpid: number; gfns: ReadonlySet<number> } | undefined): { svm: Svm; gfn: number } | undefined {
  let best: { svm: Svm; gfn: number; t: number } | undefined;
  for (const svm of env.secureSvms()) {
    for (const [gfn, t] of svm.resident) {
      if (keep && keep.lpid === svm.lpid && keep.gfns.has(gfn)) continue;
      if (svm.pages.get(gfn)?.state !== GPF.SECURE) continue;
      if (!best || t < best.t) best = { svm, gfn, t };
      break;
    }
  }
  return best;
}

/**
 * Make room for `n` secure frames by giving pages of running SVMs back to the hypervisor,
 * encrypted (H_SVM_PAGE_OUT, as the VM that owns them). False when nothing more can go.
 */
export function* ensureFree(env: PageEnv, n: number, keep?: { lpid: number; gfns: ReadonlySet<number> }): Gen<boolean> {
  while (env.frames.free < n) {
    const v = pickVictim(env, keep);
    if (!v) return false;
    env.event({ kind: 'overcommit', lpid: v.svm.lpid, gfn: v.gfn });
    const r = yield { nr: HC.H_SVM_PAGE_OUT, args: [BigInt(v.gfn * PAGE_SIZE), 0n, SHIFT], lpid: v.svm.lpid };
    if (r.rc !== 0 || v.svm.stateOf(v.gfn) !== GPF.PAGEDOUT) return false;
  }
  return true;
}

/** Bring a frame back into secure memory (paged out, or never touched). True when it is there. */
export function* bringIn(env: PageEnv, svm: Svm, gfn: number): Gen<boolean> {
  const e = svm.pages.get(gfn);
  if (e?.state === GPF.SECURE && e.secure !== undefined) return true;
  if (!(yield* ensureFree(env, 1, { lpid: svm.lpid, gfns: new Set([gfn]) }))) return false;
  if (!e || (e.state === GPF.SECURE && e.secure === undefined)) {
    // Never touched since the SVM became secure: a zero page, without asking anyone.
    if (svm.state !== 'secure') return false;
    const f = env.frames.alloc();
    if (f === undefined) return false;
    const ne = svm.entry(gfn);
    installSecure(env, svm, gfn, ne, f);
    env.event({ kind: 'page-zero-fill', lpid: svm.lpid, gfn });
    return true;
  }
  if (e.state !== GPF.PAGEDOUT) return false;
  yield pageInReq(gfn, 0);
  const now = svm.pages.get(gfn);
  return now?.state === GPF.SECURE && now.secure !== undefined;
}

/**
 * Two-phase share (UV_SHARE_PAGE, and the ultravisor's own implicit shares): every frame asks
 * the hypervisor for a page; only when all have one are they committed. On any failure every
 * frame goes back to SECURE with its data, and the result is U_P2.
 */
export function* share(env: PageEnv, svm: Svm, gfns: readonly number[], implicit: boolean): Gen<number> {
  const todo: number[] = [];
  for (const g of gfns) {
    const st = svm.stateOf(g);
    if (!implicit && (st === GPF.SHARED || st === GPF.SHARED_INV)) continue;
    if (implicit && (st === GPF.SHARED_IMPLICIT || st === GPF.SHARED_IMPLICIT_INV)) continue;
    if (st !== GPF.SECURE && st !== GPF.PAGEDOUT) return U.U_P2;
    todo.push(g);
  }
  // Paged-out frames come back (verified) before they are shared.
  for (const g of todo) {
    if (svm.stateOf(g) === GPF.PAGEDOUT && !(yield* bringIn(env, svm, g))) return U.U_P2;
  }
  // The hypervisor ran while the frames came in and may have paged one out again: check them
  // all, then move them all to HV_SHARING with no hypercall in between, so none can be paged
  // out (UV_PAGE_OUT takes SECURE frames only) while the hypervisor answers the others.
  for (const g of todo) if (svm.stateOf(g) !== GPF.SECURE) return U.U_P2;
  for (const g of todo) {
    const e = svm.entry(g);
    e.implicit = implicit;
    setState(env, svm, g, e, GPF.HV_SHARING);
  }
  let ok = true;
  for (const g of todo) {
    const r = yield pageInReq(g, H_PAGE_IN_SHARED);
    if (r.rc !== 0 || svm.stateOf(g) !== GPF.HV_SHARED) { ok = false; break; }
  }
  // A frame answered earlier may have been invalidated while the hypervisor answered a later
  // one: commit only if every frame still has the hypervisor's page.
  if (ok) for (const g of todo) if (svm.pages.get(g)?.state !== GPF.HV_SHARED || svm.pages.get(g)?.hv === undefined) ok = false;
  if (!ok) {
    for (const g of todo) {
      const e = svm.pages.get(g);
      if (!e) continue;
      if (e.state === GPF.HV_SHARING || e.state === GPF.HV_SHARED || e.state === GPF.HV_SHARED_INV) {
        e.hv = undefined;
        e.implicit = undefined;
        setState(env, svm, g, e, GPF.SECURE);
        if (e.secure === undefined && svm.state !== 'secure') svm.pages.delete(g);
      }
    }
    return U.U_P2;
  }
  for (const g of todo) {
    const e = svm.entry(g);
    svm.tables.unmap(env.mem, g);
    freeSecure(env, svm, g, e);
    env.mem.zero(e.hv!);
    if (!implicit) svm.tables.map(env.mem, g, e.hv!, true);
    setState(env, svm, g, e, implicit ? GPF.SHARED_IMPLICIT : GPF.SHARED);
  }
  env.tlbie();
  return U.U_SUCCESS;
}

/**
 * Two-phase unshare (UV_UNSHARE_PAGE, UV_UNSHARE_ALL_PAGES): the SVM stops seeing the shared
 * pages at once; each frame asks the hypervisor to take its page back; then every frame gets a
 * zeroed secure page. If the hypervisor fails any of them the frames still end SECURE (the
 * safe side for the SVM), and the result is U_P2.
 */
export function* unshare(env: PageEnv, svm: Svm, gfns: readonly number[]): Gen<number> {
  const todo: number[] = [];
  for (const g of gfns) {
    const st = svm.stateOf(g);
    if (st === GPF.SECURE || st === GPF.PAGEDOUT) continue;
    if (st !== GPF.SHARED && st !== GPF.SHARED_INV) return U.U_P2;
    todo.push(g);
  }
  if (todo.length === 0) return U.U_SUCCESS;
  if (!(yield* ensureFree(env, todo.length, { lpid: svm.lpid, gfns: new Set(todo) }))) return U.U_P2;
  for (const g of todo) {
    const e = svm.entry(g);
    svm.tables.unmap(env.mem, g);
    setState(env, svm, g, e, e.state === GPF.SHARED ? GPF.HV_UNSHARING : GPF.HV_UNSHARING_INV);
  }
  env.tlbie();
  let ok = true;
  for (const g of todo) {
    const r = yield pageInReq(g, 0);
    const e = svm.entry(g);
    if (r.rc !== 0 || e.state !== GPF.HV_UNSHARED) { ok = false; break; }
  }
  for (const g of todo) {
    const e = svm.entry(g);
    let f = e.secure;
    if (f === undefined) f = env.frames.alloc();
    e.hv = undefined;
    // Out of frames: the frame is left never-touched, zero-filled on first use.
    if (f === undefined) { setState(env, svm, g, e, GPF.SECURE); continue; }
    env.mem.zero(f);
    installSecure(env, svm, g, e, f);
    setState(env, svm, g, e, GPF.SECURE);
  }
  return ok ? U.U_SUCCESS : U.U_P2;
}

/** Run a share or unshare as a context that returns its status to the calling SVM. */
export function* asCall(work: Gen<number>): ContextFlow {
  const rc = yield* work;
  return { kind: 'return', rc };
}
