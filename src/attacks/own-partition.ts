// A partition of the attacker's own. Hypervisor-mode software can run guest code of its
// choosing: it registers a page table it built (UV_WRITE_PATE for an lpid no VM uses), maps a
// page of its code and any real address it likes, and enters with hrfid. This runs a few
// instructions there (real ppc64le code, through the machine's interpreter) and comes back on
// the `sc 1` that ends them or on the interrupt that stops them, then lets the honest
// hypervisor handle the entry it interrupted as if nothing had happened.

import type { Cpu } from '../hw/cpu/cpu.js';
import type { Flow } from '../hw/cpu/software.js';
import { FRAME_SIZE } from '../hw/memory.js';
import { assemble } from '../hw/cpu/isa/asm.js';
import { MSR } from '../abi/msr.js';
import { SPR } from '../abi/spr.js';
import { UV } from '../abi/ultracalls.js';
import { PartitionPageTable } from '../hypervisor/pagetable.js';
import type { Hypervisor } from '../hypervisor/index.js';
import type { Machine } from '../hw/machine.js';
import { restoreHv, saveHv, ultracall, type HvState, type Tamper } from './malicious.js';
import type { MaliciousHypervisor } from './malicious.js';

/** Where the code and the data window sit in the partition's guest space. */
export const CODE_GPA = 0x100000;
export const DATA_GPA = 0x200000;
const GUEST_MSR = MSR.SF | MSR.LE | MSR.ME;

export type GuestRun = { kind: 'sc'; r3: bigint } | { kind: 'interrupt'; vector: number; srr0: bigint };

/**
 * Load `ld r3,0(r4)` with r4 = DATA_GPA, which the partition maps onto real address `ra`, then
 * `sc 1`. One run at a time; `start` is called from a tamper's entry hook.
 */
export class OwnPartition implements Tamper {
  readonly table: PartitionPageTable;
  #pending: { cpu: number; saved: HvState; vector: number; done: (r: GuestRun) => void } | undefined;
  #registered = false;

  constructor(readonly hv: Hypervisor, readonly m: Machine, readonly mal: MaliciousHypervisor, readonly lpid: number) {
    this.table = new PartitionPageTable(hv.pool, m.host);
    const code = hv.pool.alloc('attack code');
    const words = [assemble('ld r3,0(r4)'), assemble('sc 1')];
    const b = new Uint8Array(words.length * 4);
    words.forEach((w, i) => new DataView(b.buffer).setUint32(4 * i, w, true));
    m.host.write(code, b);
    this.table.map(CODE_GPA, code);
  }

  /** A run is under way (on some thread). */
  get busy(): boolean { return this.#pending !== undefined; }

  /** From an entry hook at `vector`: map `ra` and run the load there; `done` gets what happened. */
  *start(cpu: Cpu, vector: number, ra: number, done: (r: GuestRun) => void): Flow {
    const saved = saveHv(cpu);
    if (!this.#registered) {
      const r = yield* ultracall(cpu, UV.UV_WRITE_PATE, this.lpid, this.table.pate0, 0);
      if (r.rc !== 0) throw new Error(`UV_WRITE_PATE for the attacker's partition ${this.lpid} failed (${r.rc})`);
      this.#registered = true;
    }
    this.table.map(DATA_GPA, ra - (ra % FRAME_SIZE));
    this.m.tlbieAll();
    this.#pending = { cpu: cpu.id, saved, vector, done };
    cpu.regs.setGpr(4, BigInt(DATA_GPA + (ra % FRAME_SIZE)));
    cpu.mtspr(SPR.LPIDR!, BigInt(this.lpid));
    cpu.mtspr(SPR.HDEC!, 1_000_000n);
    cpu.mtspr(SPR.HSRR0!, BigInt(CODE_GPA));
    cpu.mtspr(SPR.HSRR1!, GUEST_MSR);
    yield { op: 'hrfid' };
  }

  /** The run comes back here: report it, put the hypervisor's state back, go on with the interrupted entry. */
  entry(cpu: Cpu, vector: number): Flow | undefined {
    const p = this.#pending;
    if (!p || p.cpu !== cpu.id || cpu.lpid !== this.lpid) return undefined;
    this.#pending = undefined;
    const pair = vector === 0xC00 || vector === 0x200 || vector === 0x300 || vector === 0x700 ? SPR.SRR0! : SPR.HSRR0!;
    p.done(vector === 0xC00 ? { kind: 'sc', r3: cpu.regs.getGpr(3) } : { kind: 'interrupt', vector, srr0: cpu.mfspr(pair) });
    restoreHv(cpu, p.saved);
    return this.mal.honestAt(cpu, p.vector);
  }
}
