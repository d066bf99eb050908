// Basic-block execution for user mode. A block is the run of instructions from an entry address
// to the first one that may transfer control (Dec.def.term) or the end of its 4 KiB page.
// Cold blocks run their decoded instructions in a loop; once a block has run HOT times it is
// translated into a JavaScript function that calls each instruction's semantics directly, so
// every call site is monomorphic and V8 can inline the table's semantics into one function.
// Blocks are cached per page and dropped with the page (stores into code, icbi, munmap).

import { HardwareInterrupt } from '../../faults.js';
import { decode } from './decode.js';
import { mulhu32, mulhs32, cmp64s, cmp64u } from './alu.js';
import { sx, satU, satS } from './table/vmx.js';
import { JIT_MAY_FAULT, bcCond } from './table/jit.js';
import type { CodeSource, RunStop } from './interp.js';
import type { St } from './state.js';
import type { Dec, Exec, JitCtx } from './types.js';

const PAGE = 4096;
const SLOTS = PAGE >>> 2;
const HOT = 32;

export class Block {
  runs = 0;
  fn: ((s: St) => number) | null = null;
  constructor(readonly start: number, readonly decs: Dec[]) {}
  get length(): number { return this.decs.length; }
}

/** Helpers the translated code may call (kept to a few small, monomorphic functions). */
const HELPERS = { mulhu32, mulhs32, sx, satU, satS, cmp64s, cmp64u };
/** Iterations a self-looping block runs before returning to the dispatcher (bounds a call). */
const LOOP_LIMIT = 1 << 16;

/**
 * Records which GPRs a block's templates read and write, naming them as JS locals. The locals
 * hold each half as an int32 (so V8 keeps them in machine registers as Word32); templates
 * compare with `>>> 0` where a half's unsigned value matters.
 */
class LocalCtx implements JitCtx {
  readonly used = new Set<number>();
  readonly written = new Set<number>();
  crUsed = false;
  lo(r: number): string { this.used.add(r); return `r${r}l`; }
  hi(r: number): string { this.used.add(r); return `r${r}h`; }
  set(r: number, lo: string, hi: string): string {
    this.used.add(r); this.written.add(r);
    return `{ const l$ = (${lo}) | 0, h$ = (${hi}) | 0; r${r}l = l$; r${r}h = h$; }`;
  }
  get cr(): string { this.crUsed = true; return 'cr'; }
}

/**
 * Translate a block into one function. Instructions with a template (InsnDef.jit) become inline
 * code with their fields as constants and GPRs/CR in locals; the others call their semantics
 * with a constant decoded instruction (locals are written back before and reloaded after).
 * A block whose last instruction branches back to its start loops inside the function.
 * `s.fk` receives the index of an instruction that raises an interrupt, `s.loops` the number
 * of extra iterations a looping block made.
 */
export function compileBlock(b: Block): (s: St) => number {
  const n = b.decs.length;
  // Pass 1 finds the registers; pass 2 emits code knowing them.
  const probe = new LocalCtx();
  for (let i = 0; i < n; i++) { const d = b.decs[i]!; d.def.jit?.(d, b.start + 4 * i, probe); }
  const used = [...probe.used].sort((x, y) => x - y);
  const written = [...probe.written].sort((x, y) => x - y);
  const hasCalls = b.decs.some((d, i) => !d.def.jit || d.def.jit(d, b.start + 4 * i, new LocalCtx()) === null);
  const crLive = probe.crUsed || hasCalls;
  const last = b.decs[n - 1]!;
  const selfLoop = last.def.mnem === 'bc' && last.def.jit !== undefined && !last.lk && !last.aa && b.start + 4 * (n - 1) + last.i === b.start;
  // A loop counted by CTR keeps CTR in locals too, unless something else in it touches CTR.
  const ctrLocal = selfLoop && !hasCalls && (last.t & 4) === 0 &&
    !b.decs.slice(0, -1).some((d, i) => /lc\[[23]\]/.test(d.def.jit!(d, b.start + 4 * i, new LocalCtx()) ?? ''));
  const flush = written.map((r) => `g[${2 * r}] = r${r}l; g[${2 * r + 1}] = r${r}h;`).join(' ') + (crLive ? ' s.cr = cr;' : '') + (ctrLocal ? ' lc[2] = ctrl; lc[3] = ctrh;' : '');
  const reload = used.map((r) => `r${r}l = g[${2 * r}] | 0; r${r}h = g[${2 * r + 1}] | 0;`).join(' ') + (crLive ? ' cr = s.cr;' : '');
  const c = new LocalCtx();
  const params: string[] = ['H'];
  const args: unknown[] = [HELPERS];
  let body = '';
  let ended = false;
  for (let i = 0; i < n; i++) {
    const d = b.decs[i]!;
    const pc = b.start + 4 * i;
    const isLast = i === n - 1;
    if (isLast && selfLoop) {
      body += `${bcCond(d, c, ctrLocal ? ['ctrl', 'ctrh'] : undefined)}\nif (ok && ++it < ${LOOP_LIMIT}) continue;\n${flush} s.loops = it; return ok ? ${b.start} : ${pc + 4};\n`;
      ended = true;
      break;
    }
    const code = d.def.jit ? d.def.jit(d, pc, c) : null;
    if (code !== null) {
      if (JIT_MAY_FAULT.has(d.def.mnem)) body += `k = ${i}; `;
      if (d.def.term) {
        const at = code.lastIndexOf('return ');
        body += code.slice(0, at) + flush + ' s.loops = it; ' + code.slice(at) + '\n';
        ended = true;
        break;
      }
      body += code + '\n';
      continue;
    }
    params.push(`d${i}`, `x${i}`);
    args.push(d, d.x);
    body += `k = ${i}; ${flush}\n`;
    if (isLast) { body += `s.loops = it; return x${i}(s, d${i}, ${pc});\n`; ended = true; }
    else body += `x${i}(s, d${i}, ${pc}); ${reload}\n`;
  }
  if (!ended) body += `${flush} s.loops = it; return ${b.start + 4 * n};\n`;
  const decl = used.map((r) => `r${r}l = g[${2 * r}] | 0, r${r}h = g[${2 * r + 1}] | 0`);
  if (crLive) decl.push('cr = s.cr');
  if (ctrLocal) decl.push('ctrl = lc[2] | 0', 'ctrh = lc[3] | 0');
  const src = [
    'const g = s.g, lc = s.lc, v = s.v32, v8 = s.v8, v16 = s.v16, m = s.m, t32 = s.t32, t16 = s.t16, t8 = s.t8;',
    decl.length ? `let ${decl.join(', ')};` : '',
    'let k = 0, it = 0;',
    'try {',
    selfLoop ? `for (;;) {\n${body}}` : body,
    `} catch (e) { ${flush} s.fk = k; s.loops = it; throw e; }`,
  ].join('\n');
  const factory = new Function(...params, `return function block_${b.start.toString(16)}(s) {\n${src}\n};`) as (...a: unknown[]) => (s: St) => number;
  return factory(...args);
}

export class BlockCache {
  private readonly pages = new Map<number, (Block | undefined)[]>();
  private readonly live = new Set<number>();
  blocks = 0;
  compiled = 0;
  constructor(private readonly src: CodeSource, readonly hot = HOT) {}

  page(pageNo: number): (Block | undefined)[] {
    let a = this.pages.get(pageNo);
    if (!a) { a = new Array<Block | undefined>(SLOTS).fill(undefined); this.pages.set(pageNo, a); }
    return a;
  }

  /** Decode the block starting at pc (up to a terminator or the end of the page). */
  build(arr: (Block | undefined)[], pageNo: number, pc: number): Block {
    const decs: Dec[] = [];
    const end = (pageNo + 1) * PAGE;
    let a = pc;
    do {
      const d = decode(this.src.fetch32(a));
      decs.push(d);
      a += 4;
      if (d.def.term) break;
    } while (a < end && decs.length < 256);
    if (!this.live.has(pageNo)) { this.live.add(pageNo); this.src.watchCode(pageNo * PAGE); }
    const b = new Block(pc, decs);
    arr[(pc - pageNo * PAGE) >>> 2] = b;
    this.blocks++;
    return b;
  }

  invalidate(ea: number): void {
    const p = Math.floor(ea / PAGE);
    if (!this.live.has(p)) return;
    this.live.delete(p);
    this.pages.get(p)!.fill(undefined);
  }
  invalidateRange(start: number, len: number): void {
    for (let p = Math.floor(start / PAGE); p * PAGE < start + len; p++) this.invalidate(p * PAGE);
  }
}

/** Run blocks from pc until about `budget` instructions have retired (whole blocks). */
export function runBlocks(s: St, cache: BlockCache, pc: number, budget: number, out: RunStop): RunStop {
  let n = 0;
  let base = -Infinity;
  let arr = cache.page(0);
  let pageNo = 0;
  let b: Block | undefined;
  try {
    while (n < budget) {
      const off = pc - base;
      if (off < 0 || off >= PAGE) {
        pageNo = Math.floor(pc / PAGE);
        base = pageNo * PAGE;
        arr = cache.page(pageNo);
        continue;
      }
      b = arr[off >>> 2];
      if (b === undefined) b = cache.build(arr, pageNo, pc);
      let next: number;
      if (b.fn !== null) { next = b.fn(s); n += b.decs.length * (1 + s.loops); }
      else {
        if (++b.runs >= cache.hot) { b.fn = compileBlock(b); cache.compiled++; next = b.fn(s); n += b.decs.length * (1 + s.loops); }
        else { next = interpretBlock(s, b); n += b.decs.length; }
      }
      pc = next;
      if (next < 0) break;
    }
  } catch (e) {
    const k = s.fk + (b && b.fn !== null ? s.loops * b.decs.length : 0);
    s.icount += n + k;
    if (e instanceof HardwareInterrupt && b) { out.retired = n + k; out.fault = e; out.pc = b.start + 4 * s.fk; return out; }
    throw e;
  }
  s.icount += n;
  out.retired = n; out.fault = null; out.pc = pc;
  return out;
}

function interpretBlock(s: St, b: Block): number {
  const decs = b.decs, last = decs.length - 1;
  let pc = b.start;
  let i = 0;
  try {
    for (; i < last; i++) { const d = decs[i]!; d.x(s, d, pc); pc += 4; }
    const d = decs[last]!;
    return d.x(s, d, pc);
  } catch (e) { s.fk = i; throw e; }
}

export type { Exec };
