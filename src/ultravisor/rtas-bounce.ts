// H_RTAS from an SVM: the rtas_args buffer (token, nargs, nret, then nargs + nret 32-bit cells,
// big-endian) lies in secure memory, which the hypervisor cannot read. The ultravisor copies it
// into its implicitly shared RTAS bounce page, passes that address instead, and copies only the
// return cells back into the SVM when the hypervisor returns. A start-cpu call always goes
// through the bounce page, its start address replaced by a cookie (ultravisor.ts).

import { GPF, PAGE_SIZE } from '../abi/pages.js';
import { readGuest, writeGuest } from './guest-mem.js';
import type { Svm } from './svm.js';
import type { Ultravisor } from './ultravisor.js';

const MAX_CELLS = 32;

/** An rtas_args block as the SVM wrote it. */
export interface RtasArgs { token: number; nargs: number; nret: number; args: number[] }

export class RtasBounce {
  private constructor(readonly bounceGpa: number, private readonly argsGpa: number, private readonly nargs: number,
    private readonly nret: number, private readonly hvRa: number, private readonly shared: boolean) {}

  /** The SVM's rtas_args (in its secure memory or a page it shares); undefined when not readable or malformed. */
  static peek(uv: Ultravisor, svm: Svm, argsGpa: number): RtasArgs | undefined {
    const head = readGuest(uv.mem, svm, argsGpa, 12, true);
    if (!head) return undefined;
    const dv = new DataView(head.buffer);
    const token = dv.getUint32(0, false), nargs = dv.getUint32(4, false), nret = dv.getUint32(8, false);
    if (nargs > MAX_CELLS || nret > MAX_CELLS) return undefined;
    const cells = readGuest(uv.mem, svm, argsGpa + 12, 4 * nargs, true);
    if (!cells) return undefined;
    const cv = new DataView(cells.buffer);
    return { token, nargs, nret, args: Array.from({ length: nargs }, (_, i) => cv.getUint32(4 * i, false)) };
  }

  /**
   * Copy the SVM's rtas_args into the bounce page. `force`: even when they are in a page the SVM
   * shares (start-cpu: the hypervisor must see the copy with `replace` applied, not the SVM's).
   * `replace`: argument cell `index` becomes `value` in the copy.
   */
  static prepare(uv: Ultravisor, svm: Svm, argsGpa: number, o: { force?: boolean; replace?: { index: number; value: number } } = {}): RtasBounce | undefined {
    const gfn = svm.bounce.rtas;
    if (gfn === undefined) return undefined;
    const b = svm.pages.get(gfn);
    if (!b || b.state !== GPF.SHARED_IMPLICIT || b.hv === undefined) return undefined;
    const shared = svm.stateOf(Math.floor(argsGpa / PAGE_SIZE)) === GPF.SHARED;
    if (shared && !o.force) return undefined; // already visible
    const head = readGuest(uv.mem, svm, argsGpa, 12, shared);
    if (!head) return undefined;
    const dv = new DataView(head.buffer);
    const nargs = dv.getUint32(4, false), nret = dv.getUint32(8, false);
    if (nargs > MAX_CELLS || nret > MAX_CELLS) return undefined;
    const all = readGuest(uv.mem, svm, argsGpa, 12 + 4 * (nargs + nret), shared);
    if (!all) return undefined;
    if (o.replace) {
      if (o.replace.index >= nargs) return undefined;
      new DataView(all.buffer).setUint32(12 + 4 * o.replace.index, o.replace.value >>> 0, false);
    }
    uv.mem.write(b.hv, all);
    return new RtasBounce(gfn * PAGE_SIZE, argsGpa, nargs, nret, b.hv, shared);
  }

  /** Copy the return cells back into the SVM; the first (the RTAS status), if there is one. */
  copyBack(uv: Ultravisor, svm: Svm): number | undefined {
    if (this.nret === 0) return undefined;
    const rets = uv.mem.read(this.hvRa + 12 + 4 * this.nargs, 4 * this.nret);
    if (!writeGuest(uv.mem, svm, this.argsGpa + 12 + 4 * this.nargs, rets, this.shared)) {
      uv.event({ kind: 'rtas-copyback-skipped', lpid: svm.lpid });
    }
    return new DataView(rets.buffer, rets.byteOffset, rets.byteLength).getInt32(0, false);
  }
}

/** Write an RTAS status into the SVM's first return cell (a call the ultravisor answers itself). */
export function rtasStatusToSvm(uv: Ultravisor, svm: Svm, argsGpa: number, a: RtasArgs, status: number): void {
  if (a.nret === 0) return;
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, status, false);
  writeGuest(uv.mem, svm, argsGpa + 12 + 4 * a.nargs, b, true);
}
