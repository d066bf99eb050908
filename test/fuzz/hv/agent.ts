// The SVM of the fuzz: a small guest kernel found in guest memory by its magic, like any model
// kernel. As a normal VM it asks for secure mode (UV_ESM) the way prom_init does; once the
// ultravisor enters it secure it writes known patterns into its pages, then loops: ring the
// hypervisor (an unknown hypercall, reflected), do what the step says, and check that its
// memory and registers changed only by its own hand and that the ultravisor's page records
// agree with the translation the hardware really does for it.

import type { Cpu } from '../../../src/hw/cpu/cpu.js';
import type { CodeFactory, Flow, Op, Software } from '../../../src/hw/cpu/software.js';
import { HardwareInterrupt, MachineCheck } from '../../../src/hw/faults.js';
import { UCALL_BY_NUM, UV } from '../../../src/abi/ultracalls.js';
import { HC } from '../../../src/abi/hcalls.js';
import { U, rcOf, retName } from '../../../src/abi/retcodes.js';
import { GPF, PAGE_SIZE, gpfName } from '../../../src/abi/pages.js';
import { SECURE_BIT } from '../../../src/hw/memory.js';
import { packBytes } from '../../../src/ultravisor/index.js';
import type { Driver } from './driver.js';
import { ZERO_PAGE, privatePattern, publicPattern } from './driver.js';
import { AGENT_GFN, AGENT_GUARD, AGENT_PAGES, type SvmOp } from './spec.js';

export const AGENT_MAGIC = 'PEF-FUZZ-SVM-AGENT';
/** An hypercall number no table knows: the ultravisor reflects it with R3..R12 and one output. */
export const DOORBELL = 0x1f0;

type G<T = void> = Generator<Op, T, void>;

/** The agent's kernel image: a branch over the magic, then deterministic filler. */
export function agentImage(size = 128 * 1024): Uint8Array {
  const img = new Uint8Array(size);
  let x = 0x2545f491;
  for (let i = 0; i < size; i++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; img[i] = x & 0xff; }
  new DataView(img.buffer).setUint32(0, 0x48000040, true);
  img.set(new TextEncoder().encode(AGENT_MAGIC), 4);
  return img;
}

function* call(cpu: Cpu, lev: 1 | 2, nr: number, ...args: bigint[]): G<{ rc: number; out: bigint[] }> {
  cpu.regs.setGpr(3, BigInt(nr));
  args.forEach((a, i) => cpu.regs.setGpr(4 + i, BigInt.asUintN(64, a)));
  yield { op: 'sc', lev };
  return { rc: rcOf(cpu.regs.getGpr(3)), out: Array.from({ length: 8 }, (_, i) => cpu.regs.getGpr(4 + i)) };
}

const eq = (a: Uint8Array, b: Uint8Array) => Buffer.compare(a, b) === 0;

class Agent implements Software {
  readonly name = 'fuzz SVM agent';
  #rng = 0x1234567;
  constructor(private readonly d: Driver, private readonly entry: number) {}

  enter(cpu: Cpu, pc: number): Flow {
    if (pc < 0x2000) return this.#vector(cpu, pc);
    return cpu.secure ? this.#secure(cpu) : this.#normal(cpu);
  }

  #rand(): number { let x = this.#rng; x ^= x << 13; x ^= x >>> 17; x ^= x << 5; this.#rng = x >>> 0; return this.#rng; }

  /** Interrupts delivered into the SVM: storage and machine checks end the access that caused them. */
  *#vector(_cpu: Cpu, pc: number): Flow {
    this.d.count(`svm vector 0x${pc.toString(16)}`);
    if (pc === 0x200 || pc === 0x300 || pc === 0x400) this.d.accessFailed = true;
    yield { op: 'rfid' };
  }

  *#normal(cpu: Cpu): Flow {
    const r = yield* call(cpu, 2, UV.UV_ESM, BigInt(this.entry), cpu.regs.getGpr(3));
    const why = yield* call(cpu, 2, UV.UV_ESM_REASON);
    this.d.esmFailure = `UV_ESM returned ${retName(r.rc, 'U')}, reason ${why.out[0]}`;
    yield { op: 'stop', reason: 'UV_ESM failed' };
  }

  /** One access by the SVM, retried after faults the ultravisor resolves; undefined when it ended in an interrupt. */
  *#access<T>(f: () => T): G<T | undefined> {
    for (let tries = 0; tries < 32; tries++) {
      try {
        return f();
      } catch (e) {
        if (e instanceof MachineCheck) { this.d.violation(`the hardware refused the SVM's own access: ${e.message}`); return undefined; }
        if (!(e instanceof HardwareInterrupt)) throw e;
        this.d.accessFailed = false;
        yield { op: 'raise', interrupt: e };
        if (this.d.accessFailed) { this.d.count('svm access failed'); return undefined; }
      }
    }
    this.d.count('svm access gave up');
    return undefined;
  }

  *#secure(cpu: Cpu): Flow {
    const d = this.d;
    d.lpid = cpu.lpid;
    const fp = yield* call(cpu, 2, UV.UV_SVM_KEY_FINGERPRINT);
    const want = packBytes(d.fingerprint, 4);
    if (fp.rc !== 0 || want.some((v, i) => fp.out[i] !== v)) d.violation('UV_SVM_KEY_FINGERPRINT does not name this machine\'s key');
    yield* this.#readPassphrase(cpu);
    for (let i = 0; i < AGENT_PAGES; i++) yield* this.#write(cpu, i);
    d.active = true;
    d.phase = 'done';
    for (;;) {
      const before = this.#setCanaries(cpu);
      yield { op: 'sc', lev: 1 };
      this.#checkRegisters(cpu, before);
      const phase = d.now();
      if (phase === 'svm') yield* this.#perform(cpu, d.step!.svm!);
      else if (phase !== 'svm-check') d.violation(`the SVM was resumed from its hypercall in phase ${phase}`);
      yield* this.#checks(cpu);
      d.phase = 'done';
    }
  }

  *#readPassphrase(cpu: Cpu): G {
    const name = packBytes(new TextEncoder().encode('rootd'), 4);
    const parts: number[] = [];
    for (let off = 0; off < 4096; off += 64) {
      const r = yield* call(cpu, 2, UV.UV_ESMB_GET_FILE, BigInt(off), ...name);
      if (r.rc <= 0) break;
      for (const v of r.out) for (let k = 7; k >= 0; k--) parts.push(Number((v >> BigInt(8 * k)) & 0xffn));
      parts.length -= 64 - r.rc;
    }
    const got = new Uint8Array(parts);
    if (!eq(got, this.d.passphrase)) this.d.violation('UV_ESMB_GET_FILE did not return the attached passphrase');
  }

  /** Random values in every register but R3 (the hypercall number); returns the whole file. */
  #setCanaries(cpu: Cpu) {
    const r = cpu.regs;
    for (let i = 0; i < r.gpr.length; i++) r.gpr[i] = this.#rand();
    for (let i = 0; i < r.vsr32.length; i++) r.vsr32[i] = this.#rand();
    r.cr = this.#rand() | 0; r.xer = this.#rand() & 0xe00c007f; r.lrctr[0] = this.#rand(); r.lrctr[2] = this.#rand();
    r.setGpr(3, BigInt(DOORBELL));
    this.d.canaries = [0, 1, 2, ...Array.from({ length: 18 }, (_, i) => 13 + i)].map((n) => r.getGpr(n));
    return r.snapshot();
  }

  #checkRegisters(cpu: Cpu, s: ReturnType<Cpu['regs']['snapshot']>): void {
    const r = cpu.regs;
    const bad: string[] = [];
    for (let n = 0; n < 32; n++) if (n !== 3 && (r.gpr[2 * n] !== s.gpr[2 * n] || r.gpr[2 * n + 1] !== s.gpr[2 * n + 1])) bad.push(`r${n}`);
    if (Buffer.compare(Buffer.from(r.vsr32.buffer), Buffer.from(s.vsr.buffer)) !== 0) bad.push('vsr');
    if (r.cr >>> 0 !== s.cr >>> 0) bad.push('cr');
    if (r.xer >>> 0 !== s.xer >>> 0) bad.push('xer');
    if (r.lr !== (BigInt(s.lrctr[1]!) << 32n | BigInt(s.lrctr[0]!)) || r.ctr !== (BigInt(s.lrctr[3]!) << 32n | BigInt(s.lrctr[2]!))) bad.push('lr/ctr');
    if (r.fpscr !== s.fpscr || r.vscr !== s.vscr) bad.push('fpscr/vscr');
    if (bad.length) this.d.violation(`registers changed across the hypercall: ${bad.join(' ')}`);
  }

  // ---- what the SVM does ----------------------------------------------------------------

  *#write(cpu: Cpu, i: number): G {
    const d = this.d;
    const p = d.pages[i]!;
    const gpa = d.gfnOf(i) * PAGE_SIZE;
    if (p.kind === 'unknown') return;
    if (p.kind === 'shared') {
      yield* this.#access(() => cpu.write(gpa, publicPattern(d.gfnOf(i), this.#rand())));
      return;
    }
    const v = d.nextVersion();
    const data = privatePattern(d.run, d.gfnOf(i), v, i === 0 ? d.passphrase : undefined);
    const ok = yield* this.#access(() => { cpu.write(gpa, data); return true; });
    if (ok) { d.setPage(i, 'private', v); d.expected.set(i, data); d.count('svm write'); }
  }

  *#verify(cpu: Cpu, i: number, why: string): G {
    const d = this.d;
    const want = d.expectedOf(i);
    const got = yield* this.#access(() => cpu.read(d.gfnOf(i) * PAGE_SIZE, PAGE_SIZE));
    if (!got || !want) return;
    d.count('svm verify');
    if (!eq(got, want)) d.violation(`agent page ${i} (gfn ${d.gfnOf(i)}) reads differently from what the SVM wrote (${why}): ${describe(d, got, want)}`);
  }

  *#perform(cpu: Cpu, op: SvmOp): G {
    const d = this.d;
    switch (op.op) {
      case 'write': yield* this.#write(cpu, op.i); return;
      case 'verify': for (const i of op.pages) yield* this.#verify(cpu, i, 'verify'); return;
      case 'share': {
        const r = yield* call(cpu, 2, UV.UV_SHARE_PAGE, BigInt(AGENT_GFN + op.i), BigInt(op.n));
        d.count(`UV_SHARE_PAGE ${retName(r.rc, 'U')}`);
        if (r.rc !== U.U_SUCCESS) return;
        for (let i = op.i; i < Math.min(AGENT_PAGES, op.i + op.n); i++) {
          const was = d.pages[i]!.kind;
          d.setPage(i, 'shared');
          if (was === 'shared') continue;
          const got = yield* this.#access(() => cpu.read(d.gfnOf(i) * PAGE_SIZE, PAGE_SIZE));
          if (got && !eq(got, ZERO_PAGE)) d.violation(`agent page ${i} was not zeroed when shared: ${describe(d, got, ZERO_PAGE)}`);
        }
        return;
      }
      case 'unshare': case 'unshare-all': {
        const all = op.op === 'unshare-all';
        const r = all ? yield* call(cpu, 2, UV.UV_UNSHARE_ALL_PAGES) : yield* call(cpu, 2, UV.UV_UNSHARE_PAGE, BigInt(AGENT_GFN + op.i), BigInt(op.n));
        d.count(`${all ? 'UV_UNSHARE_ALL_PAGES' : 'UV_UNSHARE_PAGE'} ${retName(r.rc, 'U')}`);
        const range = all ? [...Array(AGENT_PAGES).keys()] : [...Array(op.n).keys()].map((k) => op.i + k).filter((i) => i < AGENT_PAGES);
        for (const i of range) {
          if (d.pages[i]!.kind === 'private') continue;
          if (r.rc !== U.U_SUCCESS) { d.setPage(i, 'unknown'); continue; }
          d.setPage(i, 'private', 0);
          yield* this.#verify(cpu, i, 'zeroed when unshared');
        }
        return;
      }
      case 'ucall': {
        const def = UCALL_BY_NUM.get(op.nr);
        const r = yield* call(cpu, 2, op.nr, ...op.args);
        d.count(`svm ${def?.name ?? 'unknown ucall'} ${retName(r.rc, 'U')}`);
        if (!def && r.rc !== U.U_FUNCTION) d.violation(`unknown ultracall 0x${op.nr.toString(16)} from the SVM returned ${retName(r.rc, 'U')}`);
        if (def && (def.caller === 'hv' || def.caller === 'vm-kernel') && r.rc !== U.U_PERMISSION) {
          d.violation(`${def.name} (for ${def.caller}) from the SVM returned ${retName(r.rc, 'U')}, not U_PERMISSION`);
        }
        return;
      }
      case 'random': {
        const r = yield* call(cpu, 1, HC.H_RANDOM);
        if (r.rc !== 0) d.violation(`H_RANDOM failed in the SVM (${r.rc})`);
        return;
      }
    }
  }

  // ---- checks after every step ---------------------------------------------------------

  *#checks(cpu: Cpu): G {
    const d = this.d;
    const step = d.step!;
    const svm = d.uv.svms.get(d.lpid);
    if (!svm) { d.violation('the SVM runs but the ultravisor has no record of it'); return; }
    if (d.uv.pendingCount !== 0) d.violation(`${d.uv.pendingCount} reflections still pending while the SVM runs`);
    // Content: pages the step named, a sample, and every page now and then.
    let x = step.sample >>> 0 || 1;
    const full = d.steps % 64 === 0;
    const verify = new Set<number>();
    if (step.svm && 'i' in step.svm) verify.add(step.svm.i);
    for (let k = 0; k < 2; k++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; verify.add((x >>> 0) % AGENT_PAGES); }
    if (full) for (let i = 0; i < AGENT_PAGES; i++) verify.add(i);
    for (const i of verify) yield* this.#verify(cpu, i, 'checked after the step');
    // The kernel's own image is never written by anyone.
    const k = (x >>> 3) % Math.ceil(d.kernelImage.length / PAGE_SIZE);
    const kpage = yield* this.#access(() => cpu.read(d.kbase + k * PAGE_SIZE, Math.min(PAGE_SIZE, d.kernelImage.length - k * PAGE_SIZE)));
    if (kpage && !eq(kpage, d.kernelImage.subarray(k * PAGE_SIZE, k * PAGE_SIZE + kpage.length))) d.violation(`kernel page ${k} changed`);
    // The ultravisor's records against the hardware's translation for this partition.
    const gfns = new Set<number>(svm.pages.keys());
    for (let i = 0; i < AGENT_PAGES + AGENT_GUARD; i++) gfns.add(AGENT_GFN + i);
    for (let k2 = 0; k2 < (full ? 512 : 8); k2++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; gfns.add((x >>> 0) % 1024); }
    for (const gfn of gfns) checkMapping(d, cpu, gfn);
  }
}

/** A page's ultravisor state against what the partition-scoped table really maps for the SVM. */
function checkMapping(d: Driver, cpu: Cpu, gfn: number): void {
  const svm = d.uv.svms.get(d.lpid)!;
  let ra: number | undefined;
  try { ra = cpu.translate(gfn * PAGE_SIZE, 'load'); } catch (e) { if (!(e instanceof HardwareInterrupt)) throw e; }
  const e = svm.pages.get(gfn);
  const st = e?.state ?? GPF.SECURE;
  if (st >= GPF.HV_SHARING && st <= GPF.HV_UNSHARED) d.violation(`gfn ${gfn} left in transient state ${gpfName(st)} while the SVM runs`);
  if (ra === undefined) return;
  const where = `gfn ${gfn} (${e ? gpfName(st) : 'no record'}) maps 0x${ra.toString(16)}`;
  if (!e) { d.violation(`${where}: a frame the ultravisor has no record of`); return; }
  if (!svm.inSlots(gfn)) d.violation(`${where} outside every memory slot`);
  switch (st) {
    case GPF.SECURE: case GPF.PSEUDO_SHARED: case GPF.PSEUDO_SHARED_INV:
      if (e.secure === undefined || ra !== e.secure) d.violation(`${where}, its secure page is ${e.secure === undefined ? 'none' : '0x' + e.secure.toString(16)}`);
      else if (ra < SECURE_BIT || !d.uv.frames.owns(ra)) d.violation(`${where}: not a secure frame the ultravisor owns`);
      return;
    case GPF.SHARED:
      if (e.hv === undefined || ra !== e.hv) d.violation(`${where}, the hypervisor's page is ${e.hv === undefined ? 'none' : '0x' + e.hv.toString(16)}`);
      else if (ra >= SECURE_BIT) d.violation(`${where}: a shared page in secure memory`);
      return;
    default:
      d.violation(`${where}: the SVM must not reach a page in this state`);
  }
}

function describe(d: Driver, got: Uint8Array, want: Uint8Array): string {
  let at = 0;
  while (at < got.length && got[at] === want[at]) at++;
  const dv = new DataView(got.buffer, got.byteOffset);
  const rec = at - (at % 32);
  const head = Buffer.from(got.subarray(rec, rec + 8)).toString('latin1');
  const what = head === 'PEFSECR!' ? `a private record of run ${dv.getUint32(rec + 8) === d.run ? 'this' : 'another'} SVM, gfn ${dv.getUint32(rec + 12)}, version ${dv.getUint32(rec + 16)}`
    : got.every((b) => b === 0) ? 'all zero' : `bytes ${Buffer.from(got.subarray(rec, rec + 16)).toString('hex')}`;
  return `first difference at offset ${at}: ${what}`;
}

export function agentCode(d: Driver): CodeFactory {
  return { magic: AGENT_MAGIC, create: (_cpu, _lpid, entry) => new Agent(d, entry) };
}

