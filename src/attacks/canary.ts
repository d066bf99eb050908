// Canaries: known bytes planted in an SVM (a file on its encrypted root disk that /init reads,
// a file attached to its ESM blob, a page of its memory, and every register the probe kernel
// can set during one hypercall), and a watch over everything the hypervisor can see: normal
// memory, each register frame and UV_PAGE_OUT buffer it receives, the TPM traffic it relays,
// the consoles, the disk it holds. A sighting names the canary, what it was and where.

import { randomBytes } from 'node:crypto';
import type { HypervisorSpy, TpmRelay, Vm } from '../hypervisor/index.js';
import type { Machine } from '../hw/machine.js';
import { REFLECT_MASKED_SPRS, SPR_BY_NAME } from '../abi/spr.js';

const enc = new TextEncoder();
const hexBytes = (n: number) => enc.encode(randomBytes(n / 2).toString('hex'));
const rand64 = () => randomBytes(8).readBigUInt64LE() | (1n << 62n);
const rand32 = () => (randomBytes(4).readUInt32LE() | 0x40000000) >>> 0;

/** SPRs an SVM's kernel can write that the ultravisor must mask when it reflects: the probe sets each. */
export const PROBE_SPRS: readonly number[] = REFLECT_MASKED_SPRS
  .map((n) => SPR_BY_NAME.get(n)!)
  .filter((d) => d.write === 'priv' || d.write === 'user')
  .filter((d) => !['XER', 'LR', 'CTR'].includes(d.name))
  .map((d) => d.num);

export interface RegisterCanaries {
  gpr: bigint[];
  /** 64 VSRs, 16 bytes each (FPRs are VSR 0-31's first doubleword). */
  vsr: Uint8Array;
  cr: number; xer: number; fpscr: number; vscr: number;
  lr: bigint; ctr: bigint;
  /** SPR number -> value (what the probe read back after setting it). */
  sprs: Map<number, bigint>;
}

/** What the probe kernel reports of its hypercall (a harness channel, not the model's). */
export interface ProbeReport {
  /** The SVM's PC at the hypercall (where it resumed). */
  pc?: bigint;
  /** The guest physical address of the page holding the memory canary. */
  memoryGpa?: number;
  /** The ESM attachment was read into memory (secure runs only). */
  attachmentRead?: boolean;
  /** Registers that did not hold their canary after the hypercall (outputs excluded). */
  clobbered?: string[];
  /** Status the hypercall returned. */
  rc?: number;
}

export class Canary {
  /** On the root disk as /etc/canary; /init hashes it (so it is read into memory, never printed). */
  readonly file = hexBytes(4096);
  /** Attached to the ESM blob as "canary"; the probe kernel reads it with UV_ESMB_GET_FILE. */
  readonly attachment = hexBytes(256);
  /** Written by the probe kernel into a page of its own memory. */
  readonly memory = hexBytes(16384);
  readonly regs: RegisterCanaries;
  readonly report: ProbeReport = {};

  constructor(readonly id: string) {
    const vsr = new Uint8Array(randomBytes(64 * 16));
    this.regs = {
      gpr: Array.from({ length: 32 }, rand64), vsr, cr: rand32(), xer: rand32(), fpscr: rand32(), vscr: rand32(),
      lr: rand64(), ctr: rand64(), sprs: new Map(PROBE_SPRS.map((n) => [n, rand64()])),
    };
  }

  /** Byte strings whose appearance anywhere means the canary leaked (32 bytes each, from every planted blob). */
  needles(): { what: string; bytes: Uint8Array }[] {
    const out: { what: string; bytes: Uint8Array }[] = [];
    for (const [what, b] of [['file', this.file], ['attachment', this.attachment], ['memory', this.memory]] as const) {
      for (const at of [0, b.length >> 2, b.length >> 1, b.length - 32]) out.push({ what: `${what} bytes at +${at}`, bytes: b.subarray(at, at + 32) });
    }
    return out;
  }

  /** 64-bit register canaries (GPRs, LR, CTR, SPRs, VSR doublewords) by value. */
  registerWords(): Map<bigint, string> {
    const m = new Map<bigint, string>();
    this.regs.gpr.forEach((v, i) => m.set(v, `R${i}`));
    m.set(this.regs.lr, 'LR');
    m.set(this.regs.ctr, 'CTR');
    for (const [n, v] of this.regs.sprs) m.set(v, `SPR ${n}`);
    const dv = new DataView(this.regs.vsr.buffer);
    for (let i = 0; i < 128; i++) m.set(dv.getBigUint64(8 * i, true), `VSR${i >> 1} dw${i & 1}`);
    return m;
  }
}

export interface Sighting { canary: string; what: string; where: string }

const has = (hay: Uint8Array, needle: Uint8Array) => Buffer.from(hay.buffer, hay.byteOffset, hay.byteLength).indexOf(needle) >= 0;

/** Watches what a hypervisor sees for every canary given. Wire spy, relay and onConsole into the system. */
export class CanaryWatch {
  readonly sightings: Sighting[] = [];
  readonly seen = { frames: 0, pageOuts: 0, tpmMessages: 0, consoleLines: 0, normalFrames: 0, blobs: 0 };
  readonly #needles: { canary: string; what: string; bytes: Buffer }[];
  readonly #words = new Map<bigint, { canary: string; what: string }>();

  constructor(readonly canaries: readonly Canary[]) {
    this.#needles = canaries.flatMap((c) => c.needles().map((n) => ({ canary: c.id, what: n.what, bytes: Buffer.from(n.bytes) })));
    for (const c of canaries) for (const [v, what] of c.registerWords()) this.#words.set(v, { canary: c.id, what });
  }

  /** Search bytes the hypervisor holds; records and returns the sightings. */
  scan(where: string, bytes: Uint8Array): Sighting[] {
    const found: Sighting[] = [];
    for (const n of this.#needles) if (has(bytes, n.bytes)) found.push({ canary: n.canary, what: n.what, where });
    this.sightings.push(...found);
    return found;
  }

  /** A register frame: each 64-bit register against the register canaries, and the bytes against the blobs. */
  scanGprs(where: string, gprs: Uint8Array): Sighting[] {
    const found = this.scan(where, gprs);
    const dv = new DataView(gprs.buffer, gprs.byteOffset, gprs.byteLength);
    for (let i = 0; i + 8 <= gprs.length; i += 8) {
      const w = this.#words.get(dv.getBigUint64(i, true));
      if (w) found.push({ canary: w.canary, what: `register canary ${w.what}`, where: `${where} R${i / 8}` });
    }
    this.sightings.push(...found.filter((s) => s.what.startsWith('register')));
    return found;
  }

  readonly spy: HypervisorSpy = {
    frame: (vm, vector, gprs) => { this.seen.frames++; this.scanGprs(`register frame at 0x${vector.toString(16)}${vm ? ` (${vm.name})` : ''}`, gprs); },
    pageOut: (vm, gpa, bytes) => { this.seen.pageOuts++; this.scan(`UV_PAGE_OUT buffer of ${vm.name} gpa 0x${gpa.toString(16)}`, bytes); },
  };

  /** The TPM relay the hypervisor gets, recording every command and response it passes on. */
  relay(inner: TpmRelay): TpmRelay {
    const look = (what: string, b: Uint8Array) => { this.seen.tpmMessages++; this.scan(`TPM ${what} relayed by the hypervisor`, b); return b; };
    return {
      transmit: (cmd) => {
        look('command', cmd);
        const r = inner.transmit(cmd);
        return r instanceof Promise ? r.then((x) => look('response', x)) : look('response', r);
      },
      close: inner.close?.bind(inner),
    };
  }

  console = (vm: Vm, line: string): void => { this.seen.consoleLines++; this.scan(`console of ${vm.name}`, enc.encode(line)); };

  /** Every normal frame of the machine: what the hypervisor could dump right now. */
  scanNormalMemory(machine: Machine): Sighting[] {
    const found: Sighting[] = [];
    for (const f of machine.scanNormalMemory()) { this.seen.normalFrames++; found.push(...this.scan(`normal memory at 0x${f.ra.toString(16)}`, f.bytes)); }
    return found;
  }

  /** Bytes the hypervisor was handed at rest (a disk image, an initramfs). */
  scanBlob(where: string, bytes: Uint8Array): Sighting[] { this.seen.blobs++; return this.scan(where, bytes); }

  of(canary: string): Sighting[] { return this.sightings.filter((s) => s.canary === canary); }

  /** One line: how much was searched. */
  describe(): string {
    const s = this.seen;
    return `${s.normalFrames} normal frames, ${s.frames} register frames, ${s.pageOuts} UV_PAGE_OUT buffers, ${s.tpmMessages} TPM messages, ${s.consoleLines} console lines, ${s.blobs} disk images`;
  }
}
