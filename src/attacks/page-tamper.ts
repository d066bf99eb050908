// Tampering with paged-out SVM pages (attacks 9-12). The compromised hypervisor keeps every
// ciphertext UV_PAGE_OUT gave it. When the ultravisor asks for a paged-out page back
// (H_SVM_PAGE_IN) and the honest hypervisor answers with UV_PAGE_IN, the attacker first puts
// forged bytes in the page it hands over (an older ciphertext of the page, another page's,
// another SVM's, the right one with a bit flipped) and makes the call; then it puts the honest
// ciphertext back and makes the call again. The first must be refused and the second (the
// control) accepted, and the SVM's memory test must find every page as it wrote it.

import type { Cpu } from '../hw/cpu/cpu.js';
import type { Flow } from '../hw/cpu/software.js';
import { MSR } from '../abi/msr.js';
import { SPR } from '../abi/spr.js';
import { FRAME_SIZE } from '../hw/memory.js';
import { UV } from '../abi/ultracalls.js';
import { retName } from '../abi/retcodes.js';
import type { Machine } from '../hw/machine.js';
import type { Hypervisor, Vm } from '../hypervisor/index.js';
import { preserving, restoreHv, saveHv, sc2, ultracall, type Gen, type Tamper } from './malicious.js';
import { countEvents, ending, hex, poweredOff, readCanaryIntact } from './helpers.js';
import type { AttackContext } from './context.js';
import { verdict, type AttackResult } from './types.js';
import type { Canary } from './canary.js';

/** Every UV_PAGE_OUT buffer, per partition and guest address, oldest first. */
export class PageHistory {
  readonly #pages = new Map<number, Map<number, Uint8Array[]>>();
  record(lpid: number, gpa: number, bytes: Uint8Array): void {
    let m = this.#pages.get(lpid);
    if (!m) { m = new Map(); this.#pages.set(lpid, m); }
    const l = m.get(gpa) ?? [];
    l.push(bytes);
    m.set(gpa, l);
  }
  versions(lpid: number, gpa: number): Uint8Array[] { return this.#pages.get(lpid)?.get(gpa) ?? []; }
  partitions(): number[] { return [...this.#pages.keys()]; }
  /** The latest ciphertext of each page of a partition. */
  latest(lpid: number): Map<number, Uint8Array> {
    const out = new Map<number, Uint8Array>();
    for (const [gpa, l] of this.#pages.get(lpid) ?? []) out.set(gpa, l[l.length - 1]!);
    return out;
  }
}

export interface PageIn { lpid: number; gpa: number; honest: Uint8Array; history: PageHistory }
/** What to hand over instead of the honest ciphertext (undefined: not this time). */
export type Forge = (p: PageIn) => { what: string; bytes: Uint8Array } | undefined;

export interface TamperLog { what: string; lpid: number; gpa: number; rc?: number; honestRc?: number }

/** The tamper: records page-outs, forges page-ins (at most `max` times), retries honestly. */
export function pageInTamper(hv: Hypervisor, m: Machine, history: PageHistory, forge: Forge, max = 4): Tamper & { log: TamperLog[]; pageOuts: number; pageIns: number } {
  const t = {
    log: [] as TamperLog[],
    pageOuts: 0,
    pageIns: 0,
    ucall(cpu: Cpu, nr: number): Gen | undefined {
      const r = cpu.regs;
      if (nr === UV.UV_PAGE_OUT) {
        const lpid = Number(r.getGpr(4)), ra = Number(r.getGpr(5)), gpa = Number(r.getGpr(6));
        return (function* (): Gen {
          const rc = yield* sc2(cpu);
          if (rc === 0) { t.pageOuts++; history.record(lpid, gpa, m.host.read(ra, FRAME_SIZE)); }
        })();
      }
      if (nr !== UV.UV_PAGE_IN || r.getGpr(7) !== 0n) return undefined;
      const lpid = Number(r.getGpr(4)), ra = Number(r.getGpr(5)), gpa = Number(r.getGpr(6));
      const vm = hv.vmByLpid(lpid);
      if (vm?.pages.get(gpa / FRAME_SIZE)?.state !== 'paged-out') return undefined;
      t.pageIns++;
      if (t.log.length >= max) return undefined;
      const honest = m.host.read(ra, FRAME_SIZE);
      const f = forge({ lpid, gpa, honest, history });
      if (!f) return undefined;
      return (function* (): Gen {
        const regs = saveHv(cpu);
        const e: TamperLog = { what: f.what, lpid, gpa };
        t.log.push(e);
        m.host.write(ra, f.bytes);
        e.rc = yield* sc2(cpu);
        if (e.rc === 0) return; // accepted: the SVM now holds the forged page
        m.host.write(ra, honest);
        restoreHv(cpu, regs);
        e.honestRc = yield* sc2(cpu);
      })();
    },
  };
  return t;
}

/**
 * A hypervisor that reclaims hard: at every entry from a running SVM it pages out (UV_PAGE_OUT,
 * as its reclaim does) up to `per` of the SVM's resident pages, walking its memory round robin,
 * so that pages go out and come back several times while the SVM works. It keeps its own
 * bookkeeping as the honest reclaim does.
 */
export function reclaimTamper(hv: Hypervisor, m: Machine, history: PageHistory, o: { per?: number; limit?: number; spy?: (vm: Vm, gpa: number, bytes: Uint8Array) => void } = {}): Tamper & { pagedOut: number } {
  const per = o.per ?? 4, limit = o.limit ?? 120;
  const cursor = new Map<number, number>();
  const t = {
    pagedOut: 0,
    entry(cpu: Cpu, vector: number, honest: () => Flow): Flow | undefined {
      const vm = hv.vmByLpid(cpu.lpid);
      const srr1 = cpu.mfspr(vector === 0xC00 ? SPR.SRR1! : SPR.HSRR1!);
      if (!vm || vm.svm !== 'secure' || vm.done || (srr1 & MSR.S) === 0n || (srr1 & MSR.HV) !== 0n || t.pagedOut >= limit) return undefined;
      return (function* (): Flow {
        yield* preserving(cpu, (function* (): Gen {
          const frames = vm.config.memBytes / FRAME_SIZE;
          let done = 0;
          for (let probes = 0; probes < 64 && done < per; probes++) {
            const gfn = cursor.get(vm.lpid) ?? 0;
            cursor.set(vm.lpid, (gfn + 1) % frames);
            const st = vm.pages.get(gfn)?.state;
            if (st === 'paged-out' || st === 'shared') continue;
            const frame = hv.pool.alloc('reclaim');
            const r = yield* ultracall(cpu, UV.UV_PAGE_OUT, vm.lpid, frame, gfn * FRAME_SIZE, 0, 16);
            if (r.rc !== 0) { hv.pool.free(frame); continue; }
            const bytes = m.host.read(frame, FRAME_SIZE);
            history.record(vm.lpid, gfn * FRAME_SIZE, bytes);
            o.spy?.(vm, gfn * FRAME_SIZE, bytes);
            hv.secure.remove(vm, gfn);
            vm.pages.set(gfn, { state: 'paged-out', frame });
            done++;
            t.pagedOut++;
          }
        })());
        yield* honest();
      })();
    },
  };
  return t;
}

/** The SVM's memory test: touched three times over (write, verify, clear). */
export const MEMTEST_MIB = 2;

/**
 * Run SVMs (memory test under a small secure budget) with `forge` applied to their page-ins,
 * and judge: every forged page-in refused, every honest retry accepted, every memory test passed.
 */
export async function pageInAttack(ctx: AttackContext, o: { svms: string[]; forge: Forge; describe: string }): Promise<AttackResult> {
  const canaries: Canary[] = o.svms.map((n) => ctx.canary(n));
  const history = new PageHistory();
  const sys = ctx.boot({ canaries });
  const t = pageInTamper(sys.hv, sys.machine, history, o.forge);
  const reclaim = reclaimTamper(sys.hv, sys.machine, history, { spy: sys.watch.spy.pageOut });
  sys.malicious.tampers.push(t, reclaim);
  try {
    const vms: Vm[] = canaries.map((c) => sys.createVm(c.id, ctx.svm(c, { extraBootargs: `pef.memtest=${MEMTEST_MIB}` })));
    await sys.runToEnd();
    const verified = (v: Vm) => v.console.includes(`memtest: ${MEMTEST_MIB} MiB written and verified`);
    const bad = vms.flatMap((v) => v.console.filter((l) => l.includes('memtest: bad memory')));
    const ok = vms.every((v, i) => poweredOff(v) && verified(v) && readCanaryIntact(v, canaries[i]!));
    const accepted = t.log.filter((e) => e.rc === 0);
    const refusedRcs = [...new Set(t.log.filter((e) => e.rc !== 0).map((e) => retName(e.rc!, 'U')))];
    const honestOk = t.log.filter((e) => e.honestRc === 0).length;
    const verifyFailed = countEvents(sys.events, 'uv-page-verify-failed');
    const leaked = accepted.length > 0 || bad.length > 0 || canaries.some((c) => sys.watch.of(c.id).length > 0);
    const controlOk = t.log.length > 0 && honestOk === t.log.length - accepted.length && ok;
    const evidence = t.log.length === 0
      ? `no page-in to tamper with (${t.pageOuts + reclaim.pagedOut} page-outs, ${t.pageIns} page-ins of paged-out pages)`
      : `${t.pageOuts + reclaim.pagedOut} pages went out encrypted; ${t.log.length} UV_PAGE_IN with ${o.describe} ` +
        `(${t.log.slice(0, 3).map((e) => `gpa ${hex(e.gpa)} of lpid ${e.lpid} given ${e.what}`).join('; ')}${t.log.length > 3 ? '; ...' : ''}) -> ` +
        `${accepted.length ? `${accepted.length} ACCEPTED` : refusedRcs.join('/')} (${verifyFailed} page-verify-failed events); ` +
        `${bad.length ? `THE SVM READ FORGED DATA: ${bad[0]}` : `every SVM ${ok ? 'verified its memory test, read its canary intact and powered off' : vms.map(ending).join(', ')}`}. ` +
        `Control: the same UV_PAGE_IN with the honest ciphertext -> ${honestOk} of ${t.log.length - accepted.length} U_SUCCESS`;
    return verdict(leaked, controlOk, evidence);
  } finally {
    sys.close();
  }
}
