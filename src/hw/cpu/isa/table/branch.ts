// Branches (I, B and XL forms, with the CTR and LR variants), system call and the
// privileged instructions PEF cares about. Privileged work goes to the Sys interface, so the
// machine's own privilege checks (Cpu.mfspr, Cpu.rfid, ...) decide, never the interpreter.

import { HardwareInterrupt } from '../../../faults.js';
import { SRR1_PROGRAM_ILLEGAL } from '../../../../abi/msr.js';
import { TWO32, gbig, setGbig } from '../alu.js';
import type { St } from '../state.js';
import type { Dec, Exec, InsnDef } from '../types.js';
import { def } from './def.js';

function setLr(s: St, v: number): void {
  s.lc[0] = v; s.lc[1] = Math.floor(v / TWO32);
}

/** Decrement CTR (64-bit) and say whether it is now zero. */
function decCtr(s: St): boolean {
  const lc = s.lc, lo = lc[2]!;
  if (lo === 0) lc[3] = lc[3]! - 1;
  lc[2] = lo - 1;
  return (lc[2]! | lc[3]!) === 0;
}

/** The BO/BI condition of a conditional branch (ISA Book I 2.4). */
function cond(s: St, d: Dec): boolean {
  const bo = d.t;
  if ((bo & 4) === 0) {
    const zero = decCtr(s);
    if (zero !== ((bo & 2) !== 0)) return false;
  }
  if (bo & 16) return true;
  return ((s.cr >>> (31 - d.a)) & 1) === ((bo >>> 3) & 1);
}

const b: Exec = (s, d, pc) => {
  if (d.lk) setLr(s, pc + 4);
  return d.aa ? d.i : pc + d.i;
};
const bc: Exec = (s, d, pc) => {
  const taken = cond(s, d);
  if (d.lk) setLr(s, pc + 4);
  return taken ? (d.aa ? d.i : pc + d.i) : pc + 4;
};
const bclr: Exec = (s, d, pc) => {
  const taken = cond(s, d);
  const target = s.lc[1]! * TWO32 + ((s.lc[0]! & ~3) >>> 0);
  if (d.lk) setLr(s, pc + 4);
  return taken ? target : pc + 4;
};
const bcctr: Exec = (s, d, pc) => {
  // BO[2]=0 (decrement CTR) is an invalid form for bcctr: it never decrements here.
  const ok = (d.t & 16) !== 0 || ((s.cr >>> (31 - d.a)) & 1) === ((d.t >>> 3) & 1);
  const target = s.lc[3]! * TWO32 + ((s.lc[2]! & ~3) >>> 0);
  if (d.lk) setLr(s, pc + 4);
  return ok ? target : pc + 4;
};

/** Specialised conditional branches picked at decode time for the common BO values. */
const bcPrep = (d: Dec) => {
  if (d.lk || d.aa) return;
  const bo = d.t & 0x1e;
  const bit = 31 - d.a;
  if (bo === 12) d.x = (s, dd, pc) => ((s.cr >>> bit) & 1 ? pc + dd.i : pc + 4);
  else if (bo === 4) d.x = (s, dd, pc) => ((s.cr >>> bit) & 1 ? pc + 4 : pc + dd.i);
  else if (bo === 16) d.x = (s, dd, pc) => (decCtr(s) ? pc + 4 : pc + dd.i);
  else if (bo === 18) d.x = (s, dd, pc) => (decCtr(s) ? pc + dd.i : pc + 4);
};

export const BRANCH: InsnDef[] = [
  def('b', 'I', 18, undefined, 'LI', b, { gen: 'branch', term: true }),
  def('bc', 'B', 16, undefined, 'BO,BI,BD', bc, { gen: 'branch', term: true, prep: bcPrep }),
  def('bclr', 'XL', 19, 16, 'BO,BI,BH', bclr, { gen: 'branch', term: true }),
  def('bcctr', 'XL', 19, 528, 'BO,BI,BH', bcctr, { gen: 'branch', term: true, rule: 'BO&4' }),
  def('bctar', 'XL', 19, 560, 'BO,BI,BH', (s, d, pc) => {
    const taken = cond(s, d);
    const tar = s.sys.mfspr(815) & ~3n;
    if (d.lk) setLr(s, pc + 4);
    return taken ? Number(tar) : pc + 4;
  }, { gen: 'none', isa: '2.07', term: true }),
];

// ---- system ---------------------------------------------------------------------------------

/** SPRs the interpreter keeps itself: XER, LR, CTR (user-accessible at every privilege). */
function mfspr(s: St, d: Dec, pc: number): number {
  const t = d.t << 1, g = s.g;
  switch (d.i) {
    case 1: g[t] = s.xer & 0xe00c007f; g[t + 1] = 0; return pc + 4;
    case 8: g[t] = s.lc[0]!; g[t + 1] = s.lc[1]!; return pc + 4;
    case 9: g[t] = s.lc[2]!; g[t + 1] = s.lc[3]!; return pc + 4;
  }
  s.regs.cr = s.cr >>> 0; s.regs.xer = s.xer;
  setGbig(s, d.t, BigInt.asUintN(64, s.sys.mfspr(d.i)));
  return pc + 4;
}

function mtspr(s: St, d: Dec, pc: number): number {
  const t = d.t << 1, g = s.g;
  switch (d.i) {
    case 1: s.xer = g[t]! & 0xe00c007f; return pc + 4;
    case 8: s.lc[0] = g[t]!; s.lc[1] = g[t + 1]!; return pc + 4;
    case 9: s.lc[2] = g[t]!; s.lc[3] = g[t + 1]!; return pc + 4;
  }
  s.sys.mtspr(d.i, gbig(s, d.t));
  return pc + 4;
}

const illegal = (what: string) => (pc: number) => new HardwareInterrupt(0xE40, `${what} at 0x${pc.toString(16)}`, SRR1_PROGRAM_ILLEGAL);

const tm = (kind: string): Exec => (s, _d, pc) => s.sys.tm(kind, pc);

export const SYSTEM: InsnDef[] = [
  def('sc', 'SC', 17, 1, 'LEV', (s, d, pc) => s.sys.sc(d.i, pc), { term: true, gen: 'none' }),
  def('mfspr', 'XFX', 31, 339, 'RT,SPR', mfspr, { gen: 'none' }),
  def('mtspr', 'XFX', 31, 467, 'SPR,RS', mtspr, { gen: 'none' }),
  def('mftb', 'XFX', 31, 371, 'RT,TBR', (s, d, pc) => {
    const tb = s.sys.timebase();
    setGbig(s, d.t, d.i === 269 ? tb >> 32n : tb);
    return pc + 4;
  }, { gen: 'none' }),
  def('mfmsr', 'X', 31, 83, 'RT', (s, d, pc) => { setGbig(s, d.t, s.sys.mfmsr()); return pc + 4; }, { fac: 'priv', gen: 'none', rule: 'Rc=0' }),
  def('mtmsrd', 'X', 31, 178, 'RS,L15', (s, d, pc) => s.sys.mtmsrd(gbig(s, d.t), d.j as 0 | 1, pc), { term: true, fac: 'priv', gen: 'none', rule: 'Rc=0' }),
  def('mtmsr', 'X', 31, 146, 'RS,L15', (s, d, pc) => {
    // mtmsr changes only MSR bits 32:63 (ISA numbering), i.e. the low word.
    const v = (gbig(s, d.t) & 0xffffffffn);
    return s.sys.mtmsrd(d.j ? v : (s.sys.mfmsr() & ~0xffffffffn) | v, d.j as 0 | 1, pc);
  }, { term: true, fac: 'priv', gen: 'none', rule: 'Rc=0' }),
  def('rfid', 'XL', 19, 18, '', (s, _d, pc) => s.sys.rfi('rfid', pc), { term: true, fac: 'priv', gen: 'none', rule: 'LK=0' }),
  def('hrfid', 'XL', 19, 274, '', (s, _d, pc) => s.sys.rfi('hrfid', pc), { term: true, fac: 'priv', gen: 'none', rule: 'LK=0' }),
  def('urfid', 'XL', 19, 306, '', (s, _d, pc) => s.sys.rfi('urfid', pc), { term: true, fac: 'priv', gen: 'none', rule: 'LK=0' }),
  def('darn', 'X', 31, 755, 'RT,L14', (s, d, pc) => {
    // L=0: 32-bit value; L=1: conditioned 64-bit; L=2: raw 64-bit. L=3 is reserved: the error value.
    const v = d.j === 3 ? 0xffffffffffffffffn : s.sys.darn();
    setGbig(s, d.t, d.j === 0 ? v & 0xffffffffn : v);
    return pc + 4;
  }, { isa: '3.0', gen: 'none', rule: 'Rc=0' }),
  def('tbegin.', 'X1', 31, 1309, 'R10', tm('tbegin.'), { fac: 'tm', gen: 'none', term: true }),
  def('tend.', 'X1', 31, 1373, 'A6', tm('tend.'), { fac: 'tm', gen: 'none', term: true }),
  def('tabort.', 'X1', 31, 1821, 'RA', tm('tabort.'), { fac: 'tm', gen: 'none', term: true }),
  def('tabortwc.', 'X1', 31, 1565, 'TO,RA,RB', tm('tabortwc.'), { fac: 'tm', gen: 'none', term: true }),
  def('tabortwci.', 'X1', 31, 1693, 'TO,RA,SI5', tm('tabortwci.'), { fac: 'tm', gen: 'none', term: true }),
  def('tabortdc.', 'X1', 31, 1629, 'TO,RA,RB', tm('tabortdc.'), { fac: 'tm', gen: 'none', term: true }),
  def('tabortdci.', 'X1', 31, 1757, 'TO,RA,SI5', tm('tabortdci.'), { fac: 'tm', gen: 'none', term: true }),
  def('tsr.', 'X1', 31, 1501, 'L10', tm('tsr.'), { fac: 'tm', gen: 'none', term: true }),
  def('tcheck', 'X', 31, 718, 'BF', tm('tcheck'), { fac: 'tm', gen: 'none', term: true, rule: 'Rc=0' }),
  def('treclaim.', 'X1', 31, 1885, 'RA', tm('treclaim.'), { fac: 'tm', gen: 'none', term: true }),
  def('trechkpt.', 'X1', 31, 2013, '', tm('trechkpt.'), { fac: 'tm', gen: 'none', term: true }),
  def('attn', 'X', 0, 256, '', (_s, _d, pc) => { throw illegal('attn')(pc); }, { term: true, gen: 'none', rule: 'Rc=0' }),
];
