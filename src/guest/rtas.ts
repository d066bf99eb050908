// Calling RTAS: an rtas_args block (big-endian token, nargs, nret, args, rets) passed to
// H_RTAS by its real address. In a secure guest the block and anything it points to (the
// os-term message) must be readable by the hypervisor, so they live in a page the kernel
// shared; a normal guest uses its own memory.

import type { Cpu } from '../hw/cpu/cpu.js';
import type { Op } from '../hw/cpu/software.js';
import { HC } from '../abi/hcalls.js';
import { hcall } from './arch.js';
import * as mem from './mem.js';

export class Rtas {
  /** A page (shared, in a secure guest) for rtas_args at 0 and a message at 1 KiB. */
  constructor(readonly tokens: ReadonlyMap<string, number>, public scratch: number) {}

  *call(cpu: Cpu, name: string, args: number[], nret: number): Generator<Op, number[] | undefined, void> {
    const token = this.tokens.get(name);
    if (token === undefined) return undefined;
    const b = new Uint8Array(12 + 4 * (args.length + nret));
    const dv = new DataView(b.buffer);
    dv.setUint32(0, token); dv.setUint32(4, args.length); dv.setUint32(8, nret);
    args.forEach((a, i) => dv.setUint32(12 + 4 * i, a >>> 0));
    yield* mem.write(cpu, this.scratch, b);
    const r = yield* hcall(cpu, HC.H_RTAS, this.scratch);
    if (r.rc !== 0) return undefined;
    const rets = yield* mem.read(cpu, this.scratch + 12 + 4 * args.length, 4 * nret);
    const rv = new DataView(rets.buffer);
    return Array.from({ length: nret }, (_, i) => rv.getInt32(4 * i));
  }

  /** ibm,os-term: the partition is terminated with this message. Does not return if honoured. */
  *osTerm(cpu: Cpu, message: string): Generator<Op, void, void> {
    const at = this.scratch + 1024;
    const text = new TextEncoder().encode(message.slice(0, 1000) + '\0');
    yield* mem.write(cpu, at, text);
    yield* this.call(cpu, 'ibm,os-term', [at], 1);
  }

  *powerOff(cpu: Cpu): Generator<Op, void, void> { yield* this.call(cpu, 'power-off', [0xffffffff, 0xffffffff], 1); }
  *reboot(cpu: Cpu): Generator<Op, void, void> { yield* this.call(cpu, 'system-reboot', [], 1); }
}
