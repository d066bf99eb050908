// H_RTAS from an SVM: the rtas_args buffer (token, nargs, nret, then nargs + nret 32-bit cells,
// big-endian) lies in secure memory, which the hypervisor cannot read. The ultravisor copies it
// into its implicitly shared RTAS bounce page, passes that address instead, and copies only the
// return cells back into the SVM when the hypervisor returns.

import { GPF, PAGE_SIZE } from '../abi/pages.js';
import { readGuest, writeGuest } from './guest-mem.js';
import type { Svm } from './svm.js';
import type { Ultravisor } from './ultravisor.js';

const MAX_CELLS = 32;

export class RtasBounce {
  private constructor(readonly bounceGpa: number, private readonly argsGpa: number, private readonly nargs: number,
    private readonly nret: number, private readonly hvRa: number) {}

  static prepare(uv: Ultravisor, svm: Svm, argsGpa: number): RtasBounce | undefined {
    const gfn = svm.bounce.rtas;
    if (gfn === undefined) return undefined;
    const b = svm.pages.get(gfn);
    if (!b || b.state !== GPF.SHARED_IMPLICIT || b.hv === undefined) return undefined;
    if (svm.stateOf(Math.floor(argsGpa / PAGE_SIZE)) === GPF.SHARED) return undefined; // already visible
    const head = readGuest(uv.mem, svm, argsGpa, 12, false);
    if (!head) return undefined;
    const dv = new DataView(head.buffer);
    const nargs = dv.getUint32(4, false), nret = dv.getUint32(8, false);
    if (nargs > MAX_CELLS || nret > MAX_CELLS) return undefined;
    const all = readGuest(uv.mem, svm, argsGpa, 12 + 4 * (nargs + nret), false);
    if (!all) return undefined;
    uv.mem.write(b.hv, all);
    return new RtasBounce(gfn * PAGE_SIZE, argsGpa, nargs, nret, b.hv);
  }

  copyBack(uv: Ultravisor, svm: Svm): void {
    if (this.nret === 0) return;
    const rets = uv.mem.read(this.hvRa + 12 + 4 * this.nargs, 4 * this.nret);
    if (!writeGuest(uv.mem, svm, this.argsGpa + 12 + 4 * this.nargs, rets, false)) {
      uv.event({ kind: 'rtas-copyback-skipped', lpid: svm.lpid });
    }
  }
}
