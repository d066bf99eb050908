// The guest kernel's page allocator over its RAM (64 KiB pages): everything from /memory
// except what is reserved (the kernel, the initramfs until it is unpacked, the device tree,
// RTAS, the low vectors, and the reservation-map entries, among them the ones the ultravisor
// adds for its own buffers during UV_ESM).

import { PAGE_SIZE } from '../abi/pages.js';

export class OutOfMemory extends Error {
  constructor(what: string) { super(`out of memory (${what})`); this.name = 'OutOfMemory'; }
}

export class PageAllocator {
  readonly #used: Uint8Array;
  #hint = 0;
  #free: number;

  constructor(readonly memBytes: number, reserved: readonly { start: number; size: number }[]) {
    const n = Math.floor(memBytes / PAGE_SIZE);
    this.#used = new Uint8Array(n);
    this.#free = n;
    for (const r of reserved) this.reserve(r.start, r.size);
  }

  get freePages(): number { return this.#free; }
  get totalPages(): number { return this.#used.length; }

  reserve(start: number, size: number): void {
    if (size <= 0) return;
    const a = Math.max(0, Math.floor(start / PAGE_SIZE));
    const b = Math.min(this.#used.length, Math.ceil((start + size) / PAGE_SIZE));
    for (let i = a; i < b; i++) if (!this.#used[i]) { this.#used[i] = 1; this.#free--; }
  }

  /** `n` contiguous pages; returns the guest physical address of the first. */
  alloc(n = 1, what = 'pages'): number {
    const len = this.#used.length;
    for (let pass = 0; pass < 2; pass++) {
      let run = 0;
      for (let i = pass === 0 ? this.#hint : 0; i < len; i++) {
        run = this.#used[i] ? 0 : run + 1;
        if (run === n) {
          const first = i - n + 1;
          this.#used.fill(1, first, i + 1);
          this.#free -= n;
          this.#hint = i + 1;
          return first * PAGE_SIZE;
        }
      }
    }
    throw new OutOfMemory(`${n} contiguous page${n === 1 ? '' : 's'} for ${what}`);
  }

  /** Exactly the pages of [gpa, gpa + n pages) (an ELF segment's address): undefined if any is taken. */
  allocAt(gpa: number, n: number): number | undefined {
    if (!this.isFree(gpa, n)) return undefined;
    const first = Math.floor(gpa / PAGE_SIZE);
    this.#used.fill(1, first, first + n);
    this.#free -= n;
    return first * PAGE_SIZE;
  }

  /** Whether every page of [gpa, gpa + n pages) is free (and inside memory). */
  isFree(gpa: number, n: number): boolean {
    const first = Math.floor(gpa / PAGE_SIZE);
    if (first < 0 || first + n > this.#used.length) return false;
    for (let i = first; i < first + n; i++) if (this.#used[i]) return false;
    return true;
  }

  free(gpa: number, n = 1): void {
    const first = Math.floor(gpa / PAGE_SIZE);
    for (let i = first; i < first + n && i < this.#used.length; i++) if (this.#used[i]) { this.#used[i] = 0; this.#free++; }
    if (first < this.#hint) this.#hint = first;
  }
}
