// MSR bits, in LSB-0 numbering (bit n is 1n << BigInt(n)); the ISA's own (MSB-0) number is
// recorded so docs and readers who know the Power ISA can cross-check.

export interface MsrBit { name: string; lsb: number; isa: number; meaning: string }

export const MSR_BITS: readonly MsrBit[] = [
  { name: 'SF', lsb: 63, isa: 0, meaning: '64-bit mode' },
  { name: 'HV', lsb: 60, isa: 3, meaning: 'hypervisor state (with S: ultravisor)' },
  { name: 'TM', lsb: 32, isa: 31, meaning: 'transactional memory available' },
  { name: 'TS1', lsb: 34, isa: 29, meaning: 'transaction state, high bit' },
  { name: 'TS0', lsb: 33, isa: 30, meaning: 'transaction state, low bit' },
  { name: 'VEC', lsb: 25, isa: 38, meaning: 'vector (VMX) available' },
  { name: 'VSX', lsb: 23, isa: 40, meaning: 'VSX available' },
  { name: 'S', lsb: 22, isa: 41, meaning: 'secure: only the ultravisor can set it' },
  { name: 'EE', lsb: 15, isa: 48, meaning: 'external interrupts enabled' },
  { name: 'PR', lsb: 14, isa: 49, meaning: 'problem state' },
  { name: 'FP', lsb: 13, isa: 50, meaning: 'floating point available' },
  { name: 'ME', lsb: 12, isa: 51, meaning: 'machine check enabled' },
  { name: 'FE0', lsb: 11, isa: 52, meaning: 'FP exception mode 0' },
  { name: 'SE', lsb: 10, isa: 53, meaning: 'single-step trace' },
  { name: 'BE', lsb: 9, isa: 54, meaning: 'branch trace' },
  { name: 'FE1', lsb: 8, isa: 55, meaning: 'FP exception mode 1' },
  { name: 'IR', lsb: 5, isa: 58, meaning: 'instruction relocation' },
  { name: 'DR', lsb: 4, isa: 59, meaning: 'data relocation' },
  { name: 'PMM', lsb: 2, isa: 61, meaning: 'performance monitor mark' },
  { name: 'RI', lsb: 1, isa: 62, meaning: 'recoverable interrupt' },
  { name: 'LE', lsb: 0, isa: 63, meaning: 'little-endian' },
];

const bit = (name: string): bigint => {
  const b = MSR_BITS.find((x) => x.name === name);
  if (!b) throw new Error(`no MSR bit ${name}`);
  return 1n << BigInt(b.lsb);
};

export const MSR = {
  SF: bit('SF'), HV: bit('HV'), TM: bit('TM'), TS1: bit('TS1'), TS0: bit('TS0'), VEC: bit('VEC'),
  VSX: bit('VSX'), S: bit('S'), EE: bit('EE'), PR: bit('PR'), FP: bit('FP'), ME: bit('ME'),
  FE0: bit('FE0'), SE: bit('SE'), BE: bit('BE'), FE1: bit('FE1'), IR: bit('IR'), DR: bit('DR'),
  PMM: bit('PMM'), RI: bit('RI'), LE: bit('LE'),
} as const;

/** Transaction state field (TS): non-zero means a transaction is active or suspended. */
export const MSR_TS_MASK = MSR.TS1 | MSR.TS0;

/** SRR1 bits 42:43 (ISA numbering) record the `sc` level: LSB-0 bits 21:20. */
export const SRR1_SC_LEV_SHIFT = 20n;
export const SRR1_SC_LEV_MASK = 3n << SRR1_SC_LEV_SHIFT;
/** SRR1 bit 45 (ISA) for a program interrupt: privileged instruction; bit 44: illegal instruction. */
export const SRR1_PROGRAM_PRIV = 1n << 18n;
export const SRR1_PROGRAM_ILLEGAL = 1n << 19n;
export const SRR1_PROGRAM_TRAP = 1n << 17n;

/** The privilege modes of PEF.md section 2, named by (S, HV, PR). */
export type Mode =
  | 'ultravisor' | 'reserved' | 'secure-privileged' | 'secure-problem'
  | 'hypervisor' | 'host-problem' | 'privileged' | 'problem';

export const MODES: readonly { mode: Mode; s: 0 | 1; hv: 0 | 1; pr: 0 | 1; who: string }[] = [
  { mode: 'ultravisor', s: 1, hv: 1, pr: 0, who: 'the ultravisor' },
  { mode: 'reserved', s: 1, hv: 1, pr: 1, who: 'nobody (reserved)' },
  { mode: 'secure-privileged', s: 1, hv: 0, pr: 0, who: "an SVM's kernel" },
  { mode: 'secure-problem', s: 1, hv: 0, pr: 1, who: "an SVM's applications" },
  { mode: 'hypervisor', s: 0, hv: 1, pr: 0, who: 'the hypervisor' },
  { mode: 'host-problem', s: 0, hv: 1, pr: 1, who: "the host's applications" },
  { mode: 'privileged', s: 0, hv: 0, pr: 0, who: "a normal VM's kernel" },
  { mode: 'problem', s: 0, hv: 0, pr: 1, who: "a normal VM's applications" },
];

export function modeOf(msr: bigint): Mode {
  const s = (msr & MSR.S) !== 0n, hv = (msr & MSR.HV) !== 0n, pr = (msr & MSR.PR) !== 0n;
  if (s) return hv ? (pr ? 'reserved' : 'ultravisor') : (pr ? 'secure-problem' : 'secure-privileged');
  return hv ? (pr ? 'host-problem' : 'hypervisor') : (pr ? 'problem' : 'privileged');
}
