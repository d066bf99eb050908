// The kernel's consoles: the hvc console (H_PUT_TERM_CHAR, 16 bytes a call, bytes packed
// big-endian in R6 and R7 as Linux's hvc_put_chars does) for printk, and virtio-console for
// user programs once it is probed. Both end up in the VM's console stream.

import type { Cpu } from '../hw/cpu/cpu.js';
import type { Op } from '../hw/cpu/software.js';
import { HC } from '../abi/hcalls.js';
import { hcall, packBE } from './arch.js';
import type { VirtioConsoleDriver } from './virtio/console.js';

export class Console {
  virtio: VirtioConsoleDriver | undefined;
  /** Everything written, for the kernel's own record (dmesg). */
  readonly log: string[] = [];

  *printk(cpu: Cpu, line: string): Generator<Op, void, void> {
    this.log.push(line);
    yield* this.hvc(cpu, new TextEncoder().encode(line + '\n'));
  }

  *hvc(cpu: Cpu, bytes: Uint8Array): Generator<Op, void, void> {
    for (let o = 0; o < bytes.length; o += 16) {
      const part = bytes.subarray(o, o + 16);
      const [c0, c1] = packBE(part, 2);
      yield* hcall(cpu, HC.H_PUT_TERM_CHAR, 0, part.length, c0!, c1!);
    }
  }

  /** /dev/console: virtio when there is one. */
  *write(cpu: Cpu, bytes: Uint8Array): Generator<Op, void, void> {
    if (this.virtio) yield* this.virtio.write(cpu, bytes);
    else yield* this.hvc(cpu, bytes);
  }
}
