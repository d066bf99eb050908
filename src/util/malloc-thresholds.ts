// node:crypto hands back every cipher output in a new buffer, and the model's page paths and
// the disk cipher make tens of thousands of them a second (32 KiB page pieces, 16 KiB ECB
// calls). glibc's malloc returns the top of its heap to the kernel whenever more than
// M_TRIM_THRESHOLD (128 KiB) lies free there, so between two collections those buffers are
// faulted in and zero-filled again; in a virtual machine a page fault costs microseconds.
// glibc raises its thresholds itself when a block it had mmap'ed is freed (mallopt(3):
// M_MMAP_THRESHOLD becomes that block's size, M_TRIM_THRESHOLD twice it). Allocating and
// dropping one such block at start-up does that once, for the whole process: freed memory up to
// 64 MiB stays in the heap for reuse. Elsewhere (another libc, a runtime that never frees the
// block) it costs one untouched 32 MiB mapping for a moment and changes nothing.

/** Just under glibc's DEFAULT_MMAP_THRESHOLD_MAX (32 MiB on 64-bit), the largest it adopts. */
const BLOCK = 32 * 1024 * 1024 - 64 * 1024;
let done = false;

/** Once per process, before the heavy work: see the file comment. */
export function raiseMallocThresholds(): void {
  if (done) return;
  done = true;
  // Allocated outside node's buffer pool so that its memory is a malloc block of its own; freed
  // by the garbage collector once this reference is gone.
  const block = Buffer.allocUnsafeSlow(BLOCK);
  block[0] = 1;
}
