// The hostile hypervisor of the fuzz: the real hypervisor boots the VM and answers its secure
// transition honestly; once the SVM agent is running, this one takes over everything that
// concerns the SVM. At each of the SVM's doorbell hypercalls it does what the step says (an
// ultracall with plausible or wild arguments, a forged UV_RETURN) and checks what it can reach;
// it answers the ultravisor's own requests (H_SVM_PAGE_IN/OUT, a reflected HDSI) honestly or
// not, as the step's `answers` say. It is only another set of flows in hypervisor mode: it
// reaches the ultravisor through `sc 2` and memory through its own CPU, DMA and the host port.

import type { Cpu } from '../../../src/hw/cpu/cpu.js';
import type { Flow, Op, Software } from '../../../src/hw/cpu/software.js';
import { FRAME_SIZE, SECURE_BIT } from '../../../src/hw/memory.js';
import { ENTRY_VALID } from '../../../src/hw/mmu.js';
import { SCOM_MCD_SECURE_BASE } from '../../../src/hw/scom.js';
import { MSR } from '../../../src/abi/msr.js';
import { HC } from '../../../src/abi/hcalls.js';
import { H, U, rcOf, retName } from '../../../src/abi/retcodes.js';
import { RESTRICTED_SPRS, UCALL_BY_NUM, UV } from '../../../src/abi/ultracalls.js';
import { GPF, PAGE_SIZE } from '../../../src/abi/pages.js';
import type { Hypervisor } from '../../../src/hypervisor/index.js';
import { OutOfFrames } from '../../../src/hypervisor/frames.js';
import { DOORBELL } from './agent.js';
import type { Driver } from './driver.js';
import { publicPattern } from './driver.js';
import { AGENT_GFN, AGENT_PAGES, type Answer, type FrameRef, type HvOp, type LpidRef, type PageRef } from './spec.js';
import { checkRecords, probeSecure, secretsIn, secureTargets } from './checks.js';

const R = { SRR0: 26, SRR1: 27, HDAR: 307, HRMOR: 313, HSRR0: 314, HSRR1: 315 } as const;
type G<T = void> = Generator<Op, T, void>;
/** Where the flow is: at the SVM's doorbell, answering a request of the ultravisor, or serving steps after the SVM is gone. */
type At = { kind: 'doorbell' | 'answer' | 'dead'; cookie?: bigint };

const normalPage = (d: Driver, ra: bigint) => ra > 0n && ra % BigInt(FRAME_SIZE) === 0n && d.machine.normalRanges().some((r) => ra >= BigInt(r.start) && ra + BigInt(FRAME_SIZE) <= BigInt(r.start + r.size));

export class HostileHypervisor implements Software {
  readonly name = 'hypervisor (hostile)';
  /** Frame holding each guest frame's latest ciphertext, and every ciphertext seen (oldest first). */
  readonly held = new Map<number, number>();
  readonly history = new Map<number, Uint8Array[]>();
  /** Frames given to the ultravisor for shared pages. */
  readonly shared = new Map<number, number>();
  #x = 0x9e3779b9;

  constructor(readonly real: Hypervisor, readonly d: Driver, readonly memBytes: number) {}

  #rand(): number { let x = this.#x; x ^= x << 13; x ^= x >>> 17; x ^= x << 5; this.#x = x >>> 0; return this.#x; }

  enter(cpu: Cpu, pc: number): Flow {
    const d = this.d;
    const vector = pc - Number(cpu.mfspr(R.HRMOR));
    if (d.active && cpu.lpid === d.lpid) {
      const fromSvm = (r: number) => (cpu.mfspr(r) & (MSR.S | MSR.HV)) === MSR.S;
      if (vector === 0xC00 && fromSvm(R.SRR1)) return this.#hcall(cpu);
      if ((vector === 0xE00 || vector === 0xE20) && fromSvm(R.HSRR1)) return this.#hdsi(cpu);
    }
    return this.real.enter(cpu, pc);
  }

  // ---- arrivals ---------------------------------------------------------------------------

  *#hcall(cpu: Cpu): Flow {
    const nr = Number(BigInt.asUintN(32, cpu.regs.getGpr(3)));
    const cookie = cpu.regs.getGpr(31);
    this.#remember(cookie);
    if (nr === DOORBELL) { yield* this.#doorbell(cpu, cookie); return; }
    const at: At = { kind: 'answer', cookie };
    const pol = this.d.answers.shift() ?? 'honest';
    let r0: number = H.H_FUNCTION;
    if (nr === HC.H_SVM_PAGE_IN) r0 = yield* this.#answerPageIn(cpu, pol, cpu.regs.getGpr(4), cpu.regs.getGpr(5), at);
    else if (nr === HC.H_SVM_PAGE_OUT) r0 = yield* this.#answerPageOut(cpu, pol, cpu.regs.getGpr(4), at);
    else if (nr === HC.H_RANDOM) { this.d.violation('H_RANDOM from the SVM reached the hypervisor'); r0 = H.H_SUCCESS; }
    this.d.count(`answered ${nr === HC.H_SVM_PAGE_IN ? 'H_SVM_PAGE_IN' : nr === HC.H_SVM_PAGE_OUT ? 'H_SVM_PAGE_OUT' : `0x${nr.toString(16)}`} ${typeof pol === 'string' ? pol : 'chaos'}`);
    yield* this.#finish(cpu, cookie, r0);
  }

  /** A storage interrupt the ultravisor reflected: the SVM touched a shared page we invalidated. */
  *#hdsi(cpu: Cpu): Flow {
    const cookie = cpu.regs.getGpr(31);
    this.#remember(cookie);
    const gpa = cpu.mfspr(R.HDAR) & ~BigInt(PAGE_SIZE - 1);
    const pol = this.d.answers.shift() ?? 'honest';
    this.d.count(`answered HDSI ${typeof pol === 'string' ? pol : 'chaos'}`);
    if (typeof pol !== 'string') for (const op of pol.chaos) yield* this.#op(cpu, op, { kind: 'answer', cookie });
    if (pol !== 'refuse' && pol !== 'lie') {
      const gfn = Number(gpa) / PAGE_SIZE;
      yield* this.#ucall(cpu, UV.UV_PAGE_IN, [BigInt(this.d.lpid), BigInt(this.shared.get(gfn) ?? this.#fresh()), gpa, 1n, 16n]);
    }
    yield* this.#finish(cpu, cookie, 0);
  }

  *#doorbell(cpu: Cpu, cookie: bigint): Flow {
    const d = this.d;
    this.#spyFrame(cpu);
    while (d.now() !== 'hv') yield { op: 'idle' };
    const step = d.step!;
    const at: At = { kind: 'doorbell', cookie };
    if (step.hv) {
      yield* this.#op(cpu, step.hv, at);
      this.#checks(cpu);
      d.phase = 'svm-check';
    } else {
      d.phase = 'svm';
    }
    yield* this.#finish(cpu, cookie, 0);
  }

  /** UV_RETURN with the cookie; if the ultravisor refuses it, the SVM's vCPU is gone and we serve on. */
  *#finish(cpu: Cpu, cookie: bigint, r0: number): G {
    const rc = yield* this.#uvReturn(cpu, cookie, BigInt(r0), cookie, 0n);
    yield* this.#serve(cpu, `UV_RETURN for the pending request refused (${retName(rc, 'U')})`);
  }

  /** The SVM can no longer run: finish the current step here, then run the hypervisor half of later ones. */
  *#serve(cpu: Cpu, why: string): G {
    const d = this.d;
    if (d.uv.svms.get(d.lpid)?.state === 'secure') d.violation(`the SVM is alive but its vCPU was lost: ${why}`);
    d.dead = true;
    d.count(`svm gone: ${why}`);
    this.#checks(cpu);
    d.phase = 'done';
    for (;;) {
      while (d.now() !== 'hv') yield { op: 'idle' };
      const op = d.step!.hv;
      if (op) yield* this.#op(cpu, op, { kind: 'dead' });
      this.#checks(cpu);
      d.phase = 'done';
    }
  }

  #spyFrame(cpu: Cpu): void {
    const d = this.d;
    const secrets = new Set(d.canaries);
    for (const n of [0, 1, 2, ...Array.from({ length: 19 }, (_, i) => 13 + i)]) {
      if (secrets.has(cpu.regs.getGpr(n))) d.violation(`a register value of the SVM reached the hypervisor in r${n}`);
    }
    if (cpu.regs.vsr32.some((w) => w !== 0)) d.violation('the SVM\'s vector registers reached the hypervisor');
  }

  #checks(cpu: Cpu): void {
    const d = this.d;
    const n = d.machine.trace.counts.get('uv-internal-error') ?? 0;
    if (n !== d.internalErrors) { d.violation('the ultravisor had an internal error'); d.internalErrors = n; }
    probeSecure(cpu, d, secureTargets(d, this.#rand()));
    checkRecords(d);
  }

  #remember(cookie: bigint): void {
    const c = this.d.cookies;
    c.push(cookie);
    if (c.length > 64) c.shift();
  }

  // ---- argument resolution ------------------------------------------------------------------

  #fresh(): number {
    try { return this.real.pool.alloc('fuzz'); } catch (e) { if (e instanceof OutOfFrames) return 0; throw e; }
  }

  #lpid(l: LpidRef): bigint {
    switch (l) {
      case 'svm': return BigInt(this.d.lpid);
      case 'zero': return 0n;
      case 'other': return BigInt(this.d.lpid + 1 + (this.#rand() % 3));
      case 'huge': return 1n << 40n;
      default: return l;
    }
  }

  #gpa(p: PageRef): bigint {
    const svm = this.d.uv.svms.get(this.d.lpid);
    switch (p.k) {
      case 'agent': return BigInt((AGENT_GFN + p.i) * PAGE_SIZE);
      case 'kernel': return BigInt(this.d.kbase + p.i * PAGE_SIZE);
      case 'record': {
        const keys = svm ? [...svm.pages.keys()] : [];
        return keys.length ? BigInt(keys[p.i % keys.length]! * PAGE_SIZE) : 0n;
      }
      case 'bounce': return BigInt(((p.i === 0 ? svm?.bounce.tpm : svm?.bounce.rtas) ?? 0) * PAGE_SIZE);
      case 'raw': return p.v;
    }
  }

  #secureRa(): number {
    const svm = this.d.uv.svms.get(this.d.lpid);
    const owned = svm ? [...svm.pages.values()].filter((e) => e.secure !== undefined) : [];
    return owned.length ? owned[this.#rand() % owned.length]!.secure! : this.d.uv.ptab.base;
  }

  #frame(f: FrameRef, gfn: number): bigint {
    switch (f) {
      case 'fresh': return BigInt(this.#fresh());
      case 'held': return BigInt(this.held.get(gfn) ?? this.#fresh());
      case 'shared': return BigInt(this.shared.get(gfn) ?? [...this.shared.values()][0] ?? this.#fresh());
      case 'secure': return BigInt(this.#secureRa());
      case 'alias': return BigInt(this.#secureRa() - SECURE_BIT);
      case 'zero': return 0n;
      case 'unaligned': return BigInt(this.#fresh() + 8);
      case 'beyond': return BigInt(this.d.machine.memorySize + FRAME_SIZE * (1 + (this.#rand() % 4)));
      default: return f;
    }
  }

  /** A frame holding what a forged page-in hands over. */
  #forged(kind: 'replay' | 'swap' | 'flip' | 'plain', gfn: number): bigint | undefined {
    const mine = this.history.get(gfn) ?? [];
    let bytes: Uint8Array | undefined;
    if (kind === 'replay') bytes = mine.length > 1 ? mine[this.#rand() % (mine.length - 1)] : undefined;
    else if (kind === 'flip' && mine.length) { bytes = mine[mine.length - 1]!.slice(); bytes[this.#rand() % bytes.length]! ^= 1 << (this.#rand() % 8); }
    else if (kind === 'swap') {
      const others = [...this.history.entries()].filter(([g, h]) => g !== gfn && h.length);
      if (others.length) { const h = others[this.#rand() % others.length]![1]; bytes = h[h.length - 1]; }
    } else if (kind === 'plain') bytes = publicPattern(gfn, this.#rand());
    if (!bytes) return undefined;
    const f = this.#fresh();
    if (f === 0) return undefined;
    this.d.machine.host.write(f, bytes);
    return BigInt(f);
  }

  // ---- ultracalls, and what their results may and may not be -----------------------------------

  *#uvReturn(cpu: Cpu, cookie: bigint, r0: bigint, hsrr0: bigint, r2: bigint, outs: bigint[] = []): G<number> {
    outs.forEach((v, i) => cpu.regs.setGpr(4 + i, v));
    cpu.regs.setGpr(0, r0);
    cpu.regs.setGpr(2, r2);
    cpu.regs.setGpr(31, cookie);
    cpu.mtspr(R.HSRR0, hsrr0);
    cpu.regs.setGpr(3, BigInt(UV.UV_RETURN));
    yield { op: 'sc', lev: 2 };
    return rcOf(cpu.regs.getGpr(3));
  }

  *#ucall(cpu: Cpu, nr: number | bigint, args: bigint[]): G<number> {
    const d = this.d;
    const num = typeof nr === 'bigint' ? (nr < 0x10000n ? Number(nr) : -1) : nr;
    const a = (i: number) => BigInt.asUintN(64, args[i] ?? 0n);
    const svm = d.uv.svms.get(d.lpid);
    const mine = svm !== undefined && a(0) === BigInt(d.lpid);
    const gfn = Number(a(2) / BigInt(PAGE_SIZE));
    const aligned = a(2) % BigInt(PAGE_SIZE) === 0n && a(4) === 16n;
    const before = mine && aligned ? svm.pages.get(gfn)?.state ?? GPF.SECURE : undefined;
    const supplied = num === UV.UV_PAGE_IN && mine && aligned && a(3) === 0n && before === GPF.PAGEDOUT && normalPage(d, a(1)) ? d.machine.host.read(Number(a(1)), PAGE_SIZE) : undefined;
    cpu.regs.setGpr(3, BigInt.asUintN(64, BigInt(nr)));
    for (let i = 0; i < 9; i++) cpu.regs.setGpr(4 + i, a(i));
    yield { op: 'sc', lev: 2 };
    const rc = rcOf(cpu.regs.getGpr(3));
    const name = UCALL_BY_NUM.get(num)?.name ?? 'unknown';
    d.count(`${name} ${retName(rc, 'U')}`);
    if (rc !== U.U_SUCCESS) return rc;
    switch (num) {
      case UV.UV_PAGE_OUT: {
        if (!normalPage(d, a(1))) { d.violation(`UV_PAGE_OUT accepted hypervisor page 0x${a(1).toString(16)}`); break; }
        const ct = d.machine.host.read(Number(a(1)), PAGE_SIZE);
        const leak = secretsIn(d, ct);
        if (leak) d.violation(`UV_PAGE_OUT of gfn ${gfn} gave the hypervisor ${leak}`);
        if (mine) {
          this.held.set(gfn, Number(a(1)));
          const h = this.history.get(gfn) ?? [];
          h.push(ct);
          if (h.length > 4) h.shift();
          this.history.set(gfn, h);
        }
        break;
      }
      case UV.UV_PAGE_IN: {
        if (!normalPage(d, a(1))) { d.violation(`UV_PAGE_IN accepted hypervisor page 0x${a(1).toString(16)}`); break; }
        if (!mine) break;
        if (supplied) {
          const latest = this.history.get(gfn)?.at(-1);
          if (!latest || Buffer.compare(latest, supplied) !== 0) d.violation(`UV_PAGE_IN of paged-out gfn ${gfn} accepted a page that is not its latest ciphertext`);
          this.held.delete(gfn);
        }
        if (a(3) === 1n) this.shared.set(gfn, Number(a(1)));
        break;
      }
      case UV.UV_WRITE_PATE:
        if (mine) d.violation('UV_WRITE_PATE replaced the running SVM\'s partition-table entry');
        break;
      case UV.UV_WRITE_SCOM:
        if (a(1) >= BigInt(SCOM_MCD_SECURE_BASE) && a(1) <= BigInt(SCOM_MCD_SECURE_BASE + 0xff)) d.violation('UV_WRITE_SCOM wrote a secure-memory window register');
        break;
      case UV.UV_SVM_TERMINATE:
        if (mine) d.count('terminated the SVM');
        break;
    }
    return rc;
  }

  // ---- the step's hypervisor half --------------------------------------------------------------

  *#op(cpu: Cpu, op: HvOp, at: At): G {
    const d = this.d;
    switch (op.op) {
      case 'page-out': {
        const gpa = this.#gpa(op.page);
        yield* this.#ucall(cpu, UV.UV_PAGE_OUT, [this.#lpid(op.lpid), this.#frame(op.frame, Number(gpa / BigInt(PAGE_SIZE))), gpa, op.flags, op.shift]);
        return;
      }
      case 'page-in': {
        const gpa = this.#gpa(op.page);
        const gfn = Number(gpa / BigInt(PAGE_SIZE));
        const frame = op.content === 'latest' ? this.#frame(op.frame, gfn) : this.#forged(op.content, gfn) ?? this.#frame(op.frame, gfn);
        yield* this.#ucall(cpu, UV.UV_PAGE_IN, [this.#lpid(op.lpid), frame, gpa, op.flags, op.shift]);
        return;
      }
      case 'page-inval':
        yield* this.#ucall(cpu, UV.UV_PAGE_INVAL, [this.#lpid(op.lpid), this.#gpa(op.page), op.shift]);
        return;
      case 'reg-slot': {
        const start = op.start === 'zero' ? 0n : this.#gpa(op.start);
        const size = op.size === 'vm' ? BigInt(this.memBytes) : op.size === 'page' ? BigInt(PAGE_SIZE) : op.size === 'huge' ? 1n << 36n : op.size;
        yield* this.#ucall(cpu, UV.UV_REGISTER_MEM_SLOT, [this.#lpid(op.lpid), start, size, op.flags, op.slot]);
        return;
      }
      case 'unreg-slot':
        yield* this.#ucall(cpu, UV.UV_UNREGISTER_MEM_SLOT, [this.#lpid(op.lpid), op.slot]);
        return;
      case 'pate': {
        const svm = d.uv.svms.get(d.lpid);
        const dw0 = op.dw0 === 'normal-root' ? ENTRY_VALID | BigInt(this.#fresh())
          : op.dw0 === 'secure-root' ? ENTRY_VALID | BigInt(svm?.tables.root ?? d.uv.ptab.base) : op.dw0 === 'zero' ? 0n : op.dw0;
        yield* this.#ucall(cpu, UV.UV_WRITE_PATE, [this.#lpid(op.lpid), dw0, op.dw1]);
        return;
      }
      case 'scom': {
        const addr = op.addr === 'allowed' ? 0x00010000n + (op.value & 0xffffn) : op.addr === 'secure-window' ? BigInt(SCOM_MCD_SECURE_BASE) + (op.value & 3n) : op.addr;
        yield* this.#ucall(cpu, op.write ? UV.UV_WRITE_SCOM : UV.UV_READ_SCOM, op.write ? [op.chip, addr, op.value] : [op.chip, addr]);
        return;
      }
      case 'spr': {
        const spr = op.spr === 'restricted' ? BigInt(RESTRICTED_SPRS[Number(op.value % BigInt(RESTRICTED_SPRS.length))]!) : op.spr;
        yield* this.#ucall(cpu, op.write ? UV.UV_RESTRICTED_SPR_WRITE : UV.UV_RESTRICTED_SPR_READ, op.write ? [spr, op.value] : [spr]);
        return;
      }
      case 'terminate':
        yield* this.#ucall(cpu, UV.UV_SVM_TERMINATE, [this.#lpid(op.lpid)]);
        return;
      case 'mem':
        yield* this.#ucall(cpu, op.write ? UV.UV_WRITE_MEM : UV.UV_READ_MEM, [this.#frame(op.buffer, 0), op.handle, op.offset, op.size]);
        return;
      case 'raw':
        if (op.nr === BigInt(UV.UV_RETURN)) {
          // R31 is the pending cookie in our frame: a raw UV_RETURN names whatever its arguments say.
          yield* this.#return(cpu, { op: 'return', cookie: 'random', r0: op.args[0]!, outs: op.args, hsrr0: op.args[1]!, r2: op.args[2]! }, at);
          return;
        }
        yield* this.#ucall(cpu, op.nr, op.args);
        return;
      case 'return':
        yield* this.#return(cpu, op, at);
        return;
    }
  }

  /** A UV_RETURN of the hypervisor's choosing; with the pending cookie it resumes the SVM (or the request) and does not come back. */
  *#return(cpu: Cpu, op: Extract<HvOp, { op: 'return' }>, at: At): G {
    const d = this.d;
    const pending = at.cookie;
    const old = d.cookies.filter((c) => c !== pending);
    const cookie = op.cookie === 'valid' ? pending ?? d.cookies.at(-1) ?? 0n
      : op.cookie === 'stale' ? old[this.#rand() % Math.max(1, old.length)] ?? op.r0
        : op.cookie === 'near' ? (pending ?? 0n) ^ (1n << BigInt(this.#rand() % 64))
          : BigInt.asUintN(64, op.r0 * 0x9e3779b97f4a7c15n + op.r2);
    const resumes = pending !== undefined && cookie === pending;
    const hsrr0 = op.hsrr0 === 'cookie' ? cookie : BigInt(op.hsrr0);
    const phase = d.phase;
    if (resumes) {
      // Control may not come back here: the step's hypervisor half ends now.
      this.#checks(cpu);
      if (at.kind === 'doorbell') d.phase = 'svm-check';
    }
    const rc = yield* this.#uvReturn(cpu, cookie, op.r0, hsrr0, op.r2, op.outs);
    d.phase = phase;
    d.count(`UV_RETURN (${resumes ? 'pending' : op.cookie} cookie) ${retName(rc, 'U')}`);
    if (resumes && d.uv.svms.get(d.lpid)?.state === 'secure') d.violation(`UV_RETURN with the pending cookie was refused (${retName(rc, 'U')})`);
  }

  // ---- answering the ultravisor ------------------------------------------------------------------

  /** The honest answer to H_SVM_PAGE_IN: the held ciphertext, a fresh page to share, or an acknowledgement of an unshare. */
  *#honestPageIn(cpu: Cpu, gfn: number, flags: bigint): G<number> {
    const lpid = BigInt(this.d.lpid);
    const frame = flags === 1n ? this.#fresh() : this.held.get(gfn) ?? this.shared.get(gfn) ?? this.#fresh();
    const rc = yield* this.#ucall(cpu, UV.UV_PAGE_IN, [lpid, BigInt(frame), BigInt(gfn * PAGE_SIZE), flags, 16n]);
    if (rc === U.U_SUCCESS && flags === 0n && this.shared.get(gfn) === frame) this.shared.delete(gfn);
    return rc === U.U_SUCCESS ? H.H_SUCCESS : H.H_PARAMETER;
  }

  *#answerPageIn(cpu: Cpu, pol: Answer, gpa: bigint, flags: bigint, at: At): G<number> {
    const gfn = Number(gpa / BigInt(PAGE_SIZE));
    if (typeof pol !== 'string') {
      for (const op of pol.chaos) { yield* this.#op(cpu, op, at); this.#checks(cpu); }
      return yield* this.#honestPageIn(cpu, gfn, flags);
    }
    switch (pol) {
      case 'honest': return yield* this.#honestPageIn(cpu, gfn, flags);
      case 'refuse': return H.H_PARAMETER;
      case 'lie': return H.H_SUCCESS;
      case 'wrong': {
        const other = AGENT_GFN + ((gfn - AGENT_GFN + 1 + (this.#rand() % (AGENT_PAGES - 1))) % AGENT_PAGES + AGENT_PAGES) % AGENT_PAGES;
        yield* this.#honestPageIn(cpu, other, flags);
        return H.H_SUCCESS;
      }
      case 'twice': {
        const rc = yield* this.#honestPageIn(cpu, gfn, flags);
        yield* this.#honestPageIn(cpu, gfn, flags);
        return rc;
      }
      case 'replay': case 'swap': case 'flip': {
        const f = flags === 0n ? this.#forged(pol, gfn) : undefined;
        if (f !== undefined) yield* this.#ucall(cpu, UV.UV_PAGE_IN, [BigInt(this.d.lpid), f, gpa, 0n, 16n]);
        return yield* this.#honestPageIn(cpu, gfn, flags);
      }
      case 'secure':
        yield* this.#ucall(cpu, UV.UV_PAGE_IN, [BigInt(this.d.lpid), BigInt(this.#secureRa()), gpa, flags, 16n]);
        return H.H_SUCCESS;
    }
  }

  /** Overcommit: the ultravisor gives a page back encrypted. */
  *#answerPageOut(cpu: Cpu, pol: Answer, gpa: bigint, at: At): G<number> {
    if (typeof pol !== 'string') for (const op of pol.chaos) { yield* this.#op(cpu, op, at); this.#checks(cpu); }
    if (pol === 'refuse') return H.H_PARAMETER;
    if (pol === 'lie') return H.H_SUCCESS;
    const rc = yield* this.#ucall(cpu, UV.UV_PAGE_OUT, [BigInt(this.d.lpid), BigInt(this.#fresh()), gpa, 0n, 16n]);
    return rc === U.U_SUCCESS ? H.H_SUCCESS : H.H_PARAMETER;
  }
}

