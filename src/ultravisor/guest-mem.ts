// The ultravisor reading and writing an SVM's memory by guest address, through its own record
// of where each frame is (never through a table the hypervisor could have touched).

import { GPF, PAGE_SIZE } from '../abi/pages.js';
import type { UvMemory } from './memory.js';
import type { Svm } from './svm.js';

/** The real address behind a guest address, when the frame is in memory the ultravisor may use for it. */
export function guestRa(svm: Svm, gpa: number, allowShared = true): number | undefined {
  const gfn = Math.floor(gpa / PAGE_SIZE);
  const e = svm.pages.get(gfn);
  if (!e) return undefined;
  const off = gpa % PAGE_SIZE;
  if ((e.state === GPF.SECURE || e.state === GPF.PSEUDO_SHARED || e.state === GPF.PSEUDO_SHARED_INV) && e.secure !== undefined) return e.secure + off;
  if (allowShared && (e.state === GPF.SHARED || e.state === GPF.SHARED_IMPLICIT) && e.hv !== undefined) return e.hv + off;
  return undefined;
}

/** Frames of [gpa, gpa+len) that are not in secure memory now. */
export function missingFrames(svm: Svm, gpa: number, len: number): number[] {
  const out: number[] = [];
  if (len <= 0) return out;
  for (let g = Math.floor(gpa / PAGE_SIZE); g <= Math.floor((gpa + len - 1) / PAGE_SIZE); g++) {
    const e = svm.pages.get(g);
    if (!(e && e.secure !== undefined && (e.state === GPF.SECURE || e.state === GPF.PSEUDO_SHARED || e.state === GPF.PSEUDO_SHARED_INV))) out.push(g);
  }
  return out;
}

/** Visit [gpa, gpa+len) page by page as real-address pieces; false if some frame is not available. */
export function forEachPiece(svm: Svm, gpa: number, len: number, allowShared: boolean, f: (ra: number, n: number, done: number) => void): boolean {
  let done = 0;
  while (done < len) {
    const a = gpa + done;
    const n = Math.min(len - done, PAGE_SIZE - (a % PAGE_SIZE));
    const ra = guestRa(svm, a, allowShared);
    if (ra === undefined) return false;
    f(ra, n, done);
    done += n;
  }
  return true;
}

export function readGuest(mem: UvMemory, svm: Svm, gpa: number, len: number, allowShared = true): Uint8Array | undefined {
  const out = new Uint8Array(len);
  const ok = forEachPiece(svm, gpa, len, allowShared, (ra, n, done) => out.set(mem.read(ra, n), done));
  return ok ? out : undefined;
}

export function writeGuest(mem: UvMemory, svm: Svm, gpa: number, data: Uint8Array, allowShared = true): boolean {
  if (!forEachPiece(svm, gpa, data.length, allowShared, () => undefined)) return false;
  return forEachPiece(svm, gpa, data.length, allowShared, (ra, n, done) => mem.write(ra, data.subarray(done, done + n)));
}
