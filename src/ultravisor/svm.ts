// The ultravisor's record of one secure VM: its memory slots, the state of each 64 KiB guest
// frame (PEF.md section 8), its partition-scoped table, its page-out key, and what UV_ESM left
// for it (the machine-key fingerprint, the attached files). Nothing here is reachable from the
// hypervisor: it sees an SVM only through the ultracall ABI.

import { FRAME_SIZE } from '../hw/memory.js';
import { GPF } from '../abi/pages.js';
import type { SealedPage } from './page-crypt.js';
import { PageCrypt } from './page-crypt.js';
import type { SvmTables } from './tables.js';

/** init: UV_ESM in progress; secure: running; aborting: H_SVM_INIT_ABORT sent, waiting for UV_SVM_TERMINATE. */
export type SvmState = 'init' | 'secure' | 'aborting';

export interface Slot { id: number; start: number; size: number; flags: bigint }

/**
 * One guest frame. A frame with no entry is SECURE; before the SVM is secure that also means
 * "not brought in yet", afterwards "never touched" (zero-filled on first use).
 */
export interface GfnEntry {
  state: number;
  /** The secure frame holding the page, when there is one. */
  secure?: number;
  /** The hypervisor's normal page, in the shared states. */
  hv?: number;
  /** IV, tag and version of the ciphertext the hypervisor holds (PAGEDOUT). */
  sealed?: SealedPage;
  /** How many times the frame was paged out: bound into the page-out associated data. */
  version: bigint;
  /** A share made by the ultravisor for its own buffers, not by the SVM. */
  implicit?: boolean;
}

export const MAX_SLOTS = 512;

export class Svm {
  state: SvmState = 'init';
  readonly slots = new Map<number, Slot>();
  readonly pages = new Map<number, GfnEntry>();
  /** Frames in state SECURE that hold a secure page, oldest first, with when they came in: the overcommit victims. */
  readonly resident = new Map<number, number>();
  #crypt: PageCrypt | undefined;
  /** SHA-256 fingerprint of the machine key whose lockbox UV_ESM opened. */
  fingerprint: Uint8Array | undefined;
  /** Attached files, decrypted during UV_ESM (the symmetric key itself is gone by then). */
  readonly files = new Map<string, Uint8Array>();
  /** Guest frames of the ultravisor's implicitly shared bounce buffers. */
  readonly bounce: { tpm?: number; rtas?: number } = {};
  /** The RTAS start-cpu token of the SVM's device tree (UV_ESM): its start address never reaches the hypervisor. */
  rtasStartCpu: number | undefined;
  /** A UV_PAGE_IN failed for lack of secure memory (the reason UV_ESM gives). */
  outOfMemory = false;

  constructor(readonly lpid: number, readonly tables: SvmTables, readonly vmMsr: bigint) {}

  get crypt(): PageCrypt {
    this.#crypt ??= new PageCrypt(this.lpid);
    return this.#crypt;
  }
  wipeKeys(): void {
    this.#crypt?.wipe();
    this.#crypt = undefined;
    for (const f of this.files.values()) f.fill(0);
    this.files.clear();
  }

  slotOf(gfn: number): Slot | undefined {
    const gpa = gfn * FRAME_SIZE;
    for (const s of this.slots.values()) if (gpa >= s.start && gpa < s.start + s.size) return s;
    return undefined;
  }
  inSlots(gfn: number): boolean { return this.slotOf(gfn) !== undefined; }

  stateOf(gfn: number): number { return this.pages.get(gfn)?.state ?? GPF.SECURE; }

  entry(gfn: number): GfnEntry {
    let e = this.pages.get(gfn);
    if (!e) { e = { state: GPF.SECURE, version: 0n }; this.pages.set(gfn, e); }
    return e;
  }

  /** Every guest frame of every slot, in address order. */
  *slotGfns(): Generator<number> {
    const slots = [...this.slots.values()].sort((a, b) => a.start - b.start);
    for (const s of slots) for (let g = s.start / FRAME_SIZE; g < (s.start + s.size) / FRAME_SIZE; g++) yield g;
  }
}
