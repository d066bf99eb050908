// UV_READ_SCOM / UV_WRITE_SCOM: the hypervisor reaches chip registers only through the
// ultravisor, and only those on the white list that are not on the black list. The black list
// always holds the memory controllers' secure-window registers: nothing may move the secure
// split (the hardware also refuses it after boot).

import { SCOM_MCD_SECURE_BASE } from '../hw/scom.js';

export interface ScomLists {
  /** Inclusive [first, last] address ranges the hypervisor may use. */
  allow: [number, number][];
  /** Inclusive ranges refused even if allowed above. */
  deny: [number, number][];
}

/** Chiplet registers the hypervisor needs for power management, PCI and error handling. */
export const DEFAULT_SCOM: ScomLists = {
  allow: [
    [0x00010000, 0x0001ffff], // chip TP: thermal, power management
    [0x02010000, 0x0201ffff], // N0 fabric / interrupt controller
    [0x04010000, 0x0401ffff], // PCI host bridges
    [0x05010000, 0x0501ffff], // memory controllers (errors, scrubbing)
    [0x20000000, 0x37ffffff], // cores
  ],
  deny: [
    [SCOM_MCD_SECURE_BASE, SCOM_MCD_SECURE_BASE + 0xff], // secure memory windows
  ],
};

export type ScomVerdict = 'ok' | 'denied' | 'not-allowed';

export function scomVerdict(lists: ScomLists, addr: number): ScomVerdict {
  const inside = (r: [number, number]) => addr >= r[0] && addr <= r[1];
  if (lists.deny.some(inside)) return 'denied';
  return lists.allow.some(inside) ? 'ok' : 'not-allowed';
}
