// Ultracalls from a hypervisor flow: `sc 2` with R3 = number and R4.. = arguments; the flow is
// suspended until the ultravisor returns with urfid, then reads R3 (status) and R4.. (outputs).

import type { Cpu } from '../hw/cpu/cpu.js';
import type { Op } from '../hw/cpu/software.js';
import { rcOf } from '../abi/retcodes.js';

export interface UcallResult { rc: number; out: bigint[] }

export function* ucall(cpu: Cpu, num: number, ...args: (number | bigint)[]): Generator<Op, UcallResult, void> {
  cpu.regs.setGpr(3, BigInt(num));
  args.forEach((a, i) => cpu.regs.setGpr(4 + i, BigInt.asUintN(64, BigInt(a))));
  yield { op: 'sc', lev: 2 };
  const out: bigint[] = [];
  for (let r = 4; r <= 11; r++) out.push(cpu.regs.getGpr(r));
  return { rc: rcOf(cpu.regs.getGpr(3)), out };
}
