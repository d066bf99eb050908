// How TPM command bytes reach a TPM. A TpmTransport is all that software above the hardware
// gets (the hypervisor relays the ultravisor's commands through one): it can send commands
// and nothing else. A TpmDevice adds what only the machine itself has: the TPM's power and
// reset line, and its non-volatile state.

export interface TpmTransport {
  /** Send one command, return the whole response (retrying the TPM's "try again" warnings). */
  transmit(command: Uint8Array): Uint8Array;
}

export interface AsyncTpmTransport {
  transmitAsync(command: Uint8Array): Promise<Uint8Array>;
}

export interface TpmDevice extends TpmTransport {
  readonly kind: 'embedded' | 'swtpm';
  /** e.g. "embedded" or "swtpm 127.0.0.1:2321 (ctrl 2322)". */
  readonly description: string;
  /**
   * A platform reset: an orderly TPM2_Shutdown(CLEAR) first (swtpm locks up after repeated
   * unclean resets), then TPM_Init. The TPM then answers TPM_RC_INITIALIZE until Startup.
   */
  powerCycle(): void;
  /** Persist the TPM's non-volatile state if it changed (no-op where the TPM keeps its own). */
  saveState(): void;
  /** The NV state as a state file's bytes, where the machine keeps it (the embedded TPM). */
  exportState?(): Uint8Array;
  close(): void;
}

/** A transport that only forwards commands: what to give to software that must not reset the TPM. */
export function commandsOnly(t: TpmTransport): TpmTransport {
  return { transmit: (c) => t.transmit(c) };
}
