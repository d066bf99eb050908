// Checks that need no help from the SVM: what the hypervisor's own CPU, DMA and the host port
// can reach of secure memory, the ultravisor's records against each other, and where the SVM's
// secrets are in all of memory (positions only, through the machine's forensic search).

import type { Cpu } from '../../../src/hw/cpu/cpu.js';
import { MachineCheck } from '../../../src/hw/faults.js';
import { FRAME_SIZE, SECURE_BIT } from '../../../src/hw/memory.js';
import { GPF, gpfName } from '../../../src/abi/pages.js';
import type { Driver } from './driver.js';
import { SECRET_MAGIC } from './driver.js';

const ONE = new Uint8Array(1);

/** Secure frames the SVM and the ultravisor use: the partition table, the SVM's table root, some of its pages, one at random. */
export function secureTargets(d: Driver, x: number): number[] {
  const uv = d.uv;
  const targets: number[] = [uv.ptab.base];
  const svm = uv.svms.get(d.lpid);
  if (svm) {
    targets.push(svm.tables.root);
    const owned: number[] = [];
    for (const e of svm.pages.values()) if (e.secure !== undefined) owned.push(e.secure);
    if (owned.length) { targets.push(owned[x % owned.length]!); targets.push(owned[(x >>> 8) % owned.length]! + ((x >>> 4) % FRAME_SIZE)); }
  }
  const r = d.machine.secureRanges()[0]!;
  targets.push(r.start + ((x >>> 12) % (r.size / FRAME_SIZE)) * FRAME_SIZE);
  return targets;
}

/**
 * Try to read and write each address from hypervisor mode (when `cpu` is given), by DMA and
 * through the host port, under the address and under its alias without the secure bit: the
 * hardware must refuse every one with a machine check.
 */
export function probeSecure(cpu: Cpu | undefined, d: Driver, targets: number[]): void {
  const m = d.machine;
  const tries: [string, (a: number) => unknown][] = [
    ['a DMA read', (a) => m.dma.read(a, 8)],
    ['a DMA write', (a) => m.dma.write(a, ONE)],
    ['the host port', (a) => m.host.read(a, 8)],
  ];
  if (cpu) tries.push(["the hypervisor's load", (a) => cpu.read(a, 8)], ["the hypervisor's store", (a) => cpu.write(a, ONE)]);
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0; // thousands of refusals per second: their stacks are not needed
  try {
    for (const ra of targets) {
      for (const a of ra >= SECURE_BIT ? [ra, ra - SECURE_BIT] : [ra]) {
        for (const [how, f] of tries) {
          try {
            f(a);
            d.violation(`${how} of secure address 0x${ra.toString(16)} (as 0x${a.toString(16)}) was not refused`);
          } catch (e) {
            if (!(e instanceof MachineCheck)) d.violation(`${how} of 0x${a.toString(16)} failed with ${(e as Error).name}, not a machine check`);
          }
        }
      }
    }
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/** Every record of every SVM: its fields fit its state, and no secure frame is held twice or not allocated. */
export function checkRecords(d: Driver): void {
  const uv = d.uv;
  const owner = new Map<number, string>();
  for (const svm of uv.svms.values()) {
    for (const [gfn, e] of svm.pages) {
      const at = `lpid ${svm.lpid} gfn ${gfn} (${gpfName(e.state)})`;
      if (!svm.inSlots(gfn)) d.violation(`${at}: a record outside every memory slot`);
      if (e.secure !== undefined) {
        const other = owner.get(e.secure);
        if (other) d.violation(`${at} and ${other} hold the same secure frame 0x${e.secure.toString(16)}`);
        owner.set(e.secure, at);
        if (e.secure < SECURE_BIT || !uv.frames.owns(e.secure)) d.violation(`${at}: secure page 0x${e.secure.toString(16)} is not a frame the ultravisor allocated`);
      }
      switch (e.state) {
        case GPF.PAGEDOUT:
          if (!e.sealed || e.secure !== undefined) d.violation(`${at}: paged out without its seal, or still holding a secure page`);
          break;
        case GPF.SHARED: case GPF.SHARED_IMPLICIT:
          if (e.hv === undefined || e.hv >= SECURE_BIT || e.secure !== undefined) d.violation(`${at}: shared without a normal page, or still holding a secure page`);
          break;
        case GPF.SECURE:
          if (e.hv !== undefined || e.sealed !== undefined) d.violation(`${at}: secure but still naming a hypervisor page or a seal`);
          break;
      }
    }
  }
}

/** Whether a buffer the hypervisor holds contains any of the SVM's secrets. */
export function secretsIn(d: Driver, b: Uint8Array): string | undefined {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  if (buf.indexOf(SECRET_MAGIC) >= 0) return 'a record of a private page';
  if (d.passphrase.length && buf.indexOf(d.passphrase) >= 0) return 'the disk passphrase';
  if (d.symkey.length && buf.indexOf(d.symkey) >= 0) return "the ESM blob's symmetric key";
  return undefined;
}

/**
 * Search all memory, secure frames included, for the SVM's secrets: a private record may sit
 * only in the secure frame that holds that page now, the passphrase only in page 0's, and the
 * blob's symmetric key nowhere at all.
 */
export function scanMemory(d: Driver): void {
  const svm = d.uv.svms.get(d.lpid);
  const live = new Map<number, number>();
  if (svm && !d.dead) {
    d.pages.forEach((p, i) => {
      const e = svm.pages.get(d.gfnOf(i));
      if (p.kind === 'private' && p.version > 0 && e?.state === GPF.SECURE && e.secure !== undefined) live.set(e.secure, i);
    });
  }
  const frameOf = (ra: number) => ra - (ra % FRAME_SIZE);
  for (const h of d.machine.findInAllMemory(SECRET_MAGIC)) {
    if (!h.secure) d.violation(`a private record of the SVM is in normal memory at 0x${h.ra.toString(16)}`);
    else if (!live.has(frameOf(h.ra))) d.violation(`a private record of the SVM was left in secure frame 0x${frameOf(h.ra).toString(16)}, which holds none of its pages`);
  }
  if (d.passphrase.length) {
    for (const h of d.machine.findInAllMemory(d.passphrase)) {
      if (!h.secure || live.get(frameOf(h.ra)) !== 0) d.violation(`the disk passphrase is at 0x${h.ra.toString(16)} (${h.secure ? 'secure' : 'normal'} memory, not page 0's frame)`);
    }
  }
  if (d.symkey.length) {
    for (const h of d.machine.findInAllMemory(d.symkey)) d.violation(`the blob's symmetric key is in ${h.secure ? 'secure' : 'normal'} memory at 0x${h.ra.toString(16)}`);
  }
  d.count('memory scans');
}
