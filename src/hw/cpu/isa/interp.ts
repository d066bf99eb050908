// The run loops. The same decoded instructions and semantics run in two settings:
//  - user mode (pef exec): code is decoded once per address into per-4 KiB-page arrays; a store
//    into a page holding decoded code, an icbi, munmap or mprotect drops that page's decodes;
//  - the machine: every fetch goes through the CPU's checked path (translation, secure memory,
//    HISI), and decodes are cached by instruction word, so code written by anyone (another
//    thread, the hypervisor, DMA, a page-in) is always seen as it is in memory.
// Both loops are bounded (at most `budget` instructions per call) and allocation-free.

import { HardwareInterrupt } from '../../faults.js';
import { decode } from './decode.js';
import type { St } from './state.js';
import type { Dec } from './types.js';

export const CODE_PAGE_SHIFT = 12;
const CODE_PAGE = 1 << CODE_PAGE_SHIFT;
const SLOTS = CODE_PAGE >>> 2;

/** Where code bytes come from in user mode; told which pages hold decoded code. */
export interface CodeSource {
  fetch32(ea: number): number;
  /** A code page now has decoded copies: report stores to it through CodeCache.invalidate. */
  watchCode(pageBase: number): void;
}

/** Address-keyed decoded instructions, per 4 KiB page (arrays are cleared in place, never replaced). */
export class CodeCache {
  private readonly pages = new Map<number, (Dec | undefined)[]>();
  /** Pages whose array holds at least one decode. */
  private readonly live = new Set<number>();
  decodes = 0;

  constructor(private readonly src: CodeSource) {}

  /** The decode array of the page holding `pc` (created empty). */
  page(pageNo: number): (Dec | undefined)[] {
    let a = this.pages.get(pageNo);
    if (!a) { a = new Array<Dec | undefined>(SLOTS).fill(undefined); this.pages.set(pageNo, a); }
    return a;
  }

  /** Decode the instruction at pc into its page array (fetch checks execute permission). */
  fill(arr: (Dec | undefined)[], pageNo: number, pc: number): Dec {
    const w = this.src.fetch32(pc);
    const d = decode(w);
    if (!this.live.has(pageNo)) { this.live.add(pageNo); this.src.watchCode(pageNo * CODE_PAGE); }
    arr[(pc - pageNo * CODE_PAGE) >>> 2] = d;
    this.decodes++;
    return d;
  }

  /** Drop decodes of the page holding ea (a store or icbi hit it). */
  invalidate(ea: number): void {
    const p = Math.floor(ea / CODE_PAGE);
    if (!this.live.has(p)) return;
    this.live.delete(p);
    this.pages.get(p)!.fill(undefined);
  }

  invalidateRange(start: number, len: number): void {
    for (let p = Math.floor(start / CODE_PAGE); p * CODE_PAGE < start + len; p++) this.invalidate(p * CODE_PAGE);
  }

  clear(): void { for (const p of [...this.live]) this.invalidate(p * CODE_PAGE); }
}

/** What a run call reports. */
export interface RunStop {
  /** Instructions retired in this call. */
  retired: number;
  /** Set when an instruction raised an interrupt (not yet delivered); pc is the faulting instruction. */
  fault: HardwareInterrupt | null;
  /** The instruction address to continue from (or of the fault); -1 when control left through Sys. */
  pc: number;
}

/**
 * Run user-mode code from `pc` for at most `budget` instructions. Returns the next PC (or -1 when
 * a Sys method moved control elsewhere) and any interrupt raised, with pc at the faulting
 * instruction. The caller decides what an interrupt means (a signal, a delivered interrupt).
 */
export function runUser(s: St, cache: CodeCache, pc: number, budget: number, out: RunStop): RunStop {
  let n = 0;
  let base = -Infinity;
  let arr: (Dec | undefined)[] = cache.page(0);
  let pageNo = 0;
  try {
    while (n < budget) {
      const off = pc - base;
      if (off < 0 || off >= CODE_PAGE) {
        pageNo = Math.floor(pc / CODE_PAGE);
        base = pageNo * CODE_PAGE;
        arr = cache.page(pageNo);
        continue;
      }
      let d = arr[off >>> 2];
      if (d === undefined) d = cache.fill(arr, pageNo, pc);
      const next = d.x(s, d, pc);
      n++;
      pc = next;
      if (next < 0) break;
    }
  } catch (e) {
    s.icount += n;
    if (e instanceof HardwareInterrupt) { out.retired = n; out.fault = e; out.pc = pc; return out; }
    throw e;
  }
  s.icount += n;
  out.retired = n; out.fault = null; out.pc = pc;
  return out;
}

// ---- machine mode -------------------------------------------------------------------------

const WCACHE = 1 << 14;

/** Word-keyed decode cache: direct mapped on a hash of the instruction word. */
export class WordCache {
  private readonly keys = new Float64Array(WCACHE).fill(-1);
  private readonly decs: (Dec | undefined)[] = new Array<Dec | undefined>(WCACHE).fill(undefined);
  get(w: number): Dec {
    const i = (Math.imul(w, 0x9e3779b1) >>> 18) & (WCACHE - 1);
    if (this.keys[i] === w) return this.decs[i]!;
    const d = decode(w);
    this.keys[i] = w; this.decs[i] = d;
    return d;
  }
}

/**
 * Run from `pc` with every fetch checked by `fetch`, raising the facility-unavailable
 * interrupt for instructions whose facility bit is in `disabled` (MSR[FP]/[VEC]/[VSX] = 0).
 */
export function runChecked(s: St, cache: WordCache, pc: number, budget: number, disabled: number, out: RunStop): RunStop {
  let n = 0;
  const m = s.m;
  try {
    while (n < budget) {
      const d = cache.get(m.fetch32(pc));
      if ((d.fm & disabled) !== 0) throw unavailable(d.fm & disabled, pc);
      const next = d.x(s, d, pc);
      n++;
      pc = next;
      if (next < 0) break;
    }
  } catch (e) {
    s.icount += n;
    if (e instanceof HardwareInterrupt) { out.retired = n; out.fault = e; out.pc = pc; return out; }
    throw e;
  }
  s.icount += n;
  out.retired = n; out.fault = null; out.pc = pc;
  return out;
}

/** FP 0x800, vector 0xF20, VSX 0xF40 unavailable (the first disabled facility the instruction needs). */
function unavailable(bits: number, pc: number): HardwareInterrupt {
  const at = ` at 0x${pc.toString(16)}`;
  if (bits & 4) return new HardwareInterrupt(0xF40, 'VSX unavailable' + at);
  if (bits & 2) return new HardwareInterrupt(0xF20, 'vector unavailable' + at);
  return new HardwareInterrupt(0x800, 'floating-point unavailable' + at);
}
