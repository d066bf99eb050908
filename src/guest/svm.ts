// What a kernel built with CONFIG_PPC_SVM does once it finds itself secure (MSR[S]=1 at
// boot): learn the machine key it runs under, and share with UV_SHARE_PAGE exactly the memory
// the hypervisor must reach: a page for RTAS arguments and messages, the VPA block, and the
// SWIOTLB pool every DMA is bounced through.

import type { Cpu } from '../hw/cpu/cpu.js';
import type { Op } from '../hw/cpu/software.js';
import { UV } from '../abi/ultracalls.js';
import { retName } from '../abi/retcodes.js';
import { PAGE_SIZE } from '../abi/pages.js';
import { ucall, unpackBE } from './arch.js';

export class ShareFailed extends Error {
  constructor(what: string, rc: number) { super(`UV_SHARE_PAGE for ${what} failed: ${retName(rc, 'U')}`); this.name = 'ShareFailed'; }
}

export function* sharePages(cpu: Cpu, gpa: number, npages: number, what: string): Generator<Op, void, void> {
  const r = yield* ucall(cpu, UV.UV_SHARE_PAGE, gpa / PAGE_SIZE, npages);
  if (r.rc !== 0) throw new ShareFailed(what, r.rc);
}

/** The SHA-256 fingerprint of the machine key whose lockbox opened this SVM (UV_SVM_KEY_FINGERPRINT). */
export function* keyFingerprint(cpu: Cpu): Generator<Op, string | undefined, void> {
  const r = yield* ucall(cpu, UV.UV_SVM_KEY_FINGERPRINT);
  if (r.rc !== 0) return undefined;
  return Buffer.from(unpackBE(r.out.slice(0, 4), 32)).toString('hex');
}
