// The ultravisor's public face: firmware builds one with createUltravisor and installs it on
// the machine during boot (uv.install(machine)); everything else reaches it only through the
// ultracall ABI.

import { Ultravisor } from './ultravisor.js';
import type { UltravisorInit } from './config.js';

export { Ultravisor, callerKind, callerAllowed, injectable, type CallerKind } from './ultravisor.js';
export type { UltravisorConfig, UltravisorInit, FirmwareRegion, MachineKey } from './config.js';
export type { UltravisorHandoff, TpmUnwrap } from './tpm-relay.js';
export { DEFAULT_SCOM, type ScomLists } from './scom.js';
export { unpackName, packBytes } from './ultracalls.js';

/**
 * The ultravisor firmware loads. 'genuine' is this project's ultravisor; 'rogue' runs the same
 * code but leaks every SVM key it unwraps to the hypervisor: what secure and trusted boot must
 * keep from ever getting a key out of the TPM.
 */
export function createUltravisor(init: UltravisorInit): Ultravisor {
  return new Ultravisor(init);
}

/**
 * The bytes that stand for the ultravisor's binary: what firmware verifies (secure boot) and
 * measures (trusted boot). The two variants differ, so they measure differently.
 */
export function ultravisorImage(variant: 'genuine' | 'rogue' = 'genuine'): Uint8Array {
  return new TextEncoder().encode(`PEF-MODEL-ULTRAVISOR\0variant=${variant}\0abi=pef-1\0`);
}
