// What the ultravisor is built with. The configuration does not depend on the machine; what
// firmware hands over at boot (the TPM key handle, its Name, the per-boot auth value, policy
// digests) comes in the handoff, and the machine key's public PEM (or its fingerprint) names
// which lockbox of an ESM blob is ours.

import type { ScomLists } from './scom.js';
import type { TpmUnwrap, UltravisorHandoff } from './tpm-relay.js';

export interface FirmwareRegion {
  /** The handle the hypervisor names it by in UV_READ_MEM / UV_WRITE_MEM. */
  handle: number;
  ra: number;
  size: number;
  writable: boolean;
}

export interface UltravisorConfig {
  /** Where each thread enters the hypervisor after reset, relative to HRMOR (default 0x100). */
  hypervisorEntry?: number;
  /** SCOM addresses the hypervisor may reach through UV_READ_SCOM / UV_WRITE_SCOM. */
  scom?: ScomLists;
  /** Firmware memory the hypervisor may read or write through UV_READ_MEM / UV_WRITE_MEM. */
  firmwareMemory?: FirmwareRegion[];
}

/** The machine key's public PEM (its SHA-256 names our lockbox), or that fingerprint itself. */
export type MachineKey = { pem: string | Uint8Array } | { fingerprint: Uint8Array };

export interface UltravisorInit {
  variant?: 'genuine' | 'rogue';
  config?: UltravisorConfig;
  /** From firmware (trusted boot). Without it every UV_ESM fails with TPM_REFUSED. */
  handoff?: UltravisorHandoff;
  /** Default: the handoff's keyFingerprint (or keyPem). */
  machineKey?: MachineKey;
  /** The step-wise unwrap client; the TPM layer's by default. */
  tpmUnwrap?: TpmUnwrap;
}
