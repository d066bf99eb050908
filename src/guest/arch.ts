// The guest's view of the machine's architected interfaces: `sc 1` hypercalls and `sc 2`
// ultracalls issued from a kernel flow (R3 = number, R4.. = arguments; R3 = status, R4.. =
// outputs on return), and the SPR numbers the kernel uses. Registers are all it exchanges.

import type { Cpu } from '../hw/cpu/cpu.js';
import type { Op } from '../hw/cpu/software.js';
import { rcOf } from '../abi/retcodes.js';
import { HC } from '../abi/hcalls.js';

/** PAPR's H_CONFER: give the rest of the time slice to another vCPU (a voluntary preemption point). */
export const H_CONFER = HC.H_CONFER;

export const SPR_SRR0 = 26;
export const SPR_SRR1 = 27;

export interface CallResult { rc: number; out: bigint[] }

function* call(cpu: Cpu, lev: 1 | 2, num: number, args: (number | bigint)[]): Generator<Op, CallResult, void> {
  cpu.regs.setGpr(3, BigInt(num));
  args.forEach((a, i) => cpu.regs.setGpr(4 + i, BigInt.asUintN(64, BigInt(a))));
  yield { op: 'sc', lev };
  const out: bigint[] = [];
  for (let r = 4; r <= 11; r++) out.push(cpu.regs.getGpr(r));
  return { rc: rcOf(cpu.regs.getGpr(3)), out };
}

export function hcall(cpu: Cpu, num: number, ...args: (number | bigint)[]): Generator<Op, CallResult, void> {
  return call(cpu, 1, num, args);
}

export function ucall(cpu: Cpu, num: number, ...args: (number | bigint)[]): Generator<Op, CallResult, void> {
  return call(cpu, 2, num, args);
}

/** Bytes packed big-endian into 64-bit registers (the hvc and ESM-file conventions). */
export function packBE(bytes: Uint8Array, regs: number): bigint[] {
  const b = new Uint8Array(regs * 8);
  b.set(bytes.subarray(0, regs * 8));
  const dv = new DataView(b.buffer);
  return Array.from({ length: regs }, (_, i) => dv.getBigUint64(8 * i));
}

export function unpackBE(regs: bigint[], len: number): Uint8Array {
  const b = new Uint8Array(regs.length * 8);
  const dv = new DataView(b.buffer);
  regs.forEach((r, i) => dv.setBigUint64(8 * i, BigInt.asUintN(64, r)));
  return b.subarray(0, len);
}
