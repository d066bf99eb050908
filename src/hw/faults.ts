// Architected events raised by the hardware model. A handler's access that the hardware
// refuses throws one of these; the CPU loop delivers it as the interrupt it names, so
// privileged software written in TypeScript meets the same rules as machine code.

export class HardwareInterrupt extends Error {
  constructor(
    readonly vector: number,
    message: string,
    /** Extra SRR1 bits (program interrupt type, sc level). */
    readonly srr1Bits: bigint = 0n,
    /** For storage interrupts: the faulting address and status. */
    readonly dar?: number,
    readonly dsisr?: number,
  ) {
    super(message);
    this.name = 'HardwareInterrupt';
  }
}

/** A refused access to memory: no data returned, the address carried, the refusal traced. */
export class MachineCheck extends HardwareInterrupt {
  constructor(readonly address: number, readonly why: string, readonly access: 'load' | 'store' | 'dma' | 'fetch' | 'walk') {
    super(0x200, `machine check: ${access} of ${'0x' + address.toString(16)} refused (${why})`);
    this.name = 'MachineCheck';
  }
}

/** The machine stopped: an interrupt in ultravisor mode, or an unrecoverable model state. */
export class Checkstop extends Error {
  constructor(message: string) { super(message); this.name = 'Checkstop'; }
}

/** Configuration that can no longer change (secure memory split after boot). */
export class LockedError extends Error {
  constructor(message: string) { super(message); this.name = 'LockedError'; }
}
