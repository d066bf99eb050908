// SCOM: the service interface to chip registers. Reachable only from ultravisor mode once the
// facility is enabled (the CPU checks). Writes to the memory controllers' secure-memory
// configuration after boot fail loudly, like any other attempt to change the split.

import { LockedError } from './faults.js';

/** Addresses of the model's memory-controller secure-window registers (one per controller). */
export const SCOM_MCD_SECURE_BASE = 0x05012000;

export class Scom {
  private regs = new Map<string, bigint>();
  constructor(private readonly isLocked: () => boolean, private readonly controllers: number) {}

  private key(chip: number, addr: number): string { return `${chip}:${addr}`; }

  read(chip: number, addr: number): bigint { return this.regs.get(this.key(chip, addr)) ?? 0n; }

  write(chip: number, addr: number, v: bigint): void {
    if (addr >= SCOM_MCD_SECURE_BASE && addr < SCOM_MCD_SECURE_BASE + this.controllers && this.isLocked()) {
      throw new LockedError(`SCOM 0x${addr.toString(16)}: secure memory configuration is locked after boot`);
    }
    this.regs.set(this.key(chip, addr), v);
  }
}
