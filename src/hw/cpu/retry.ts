// Guest code written in TypeScript touches memory like machine code does: an access that
// faults (HDSI on a paged-out SVM page, say) raises the interrupt and is retried when control
// comes back, exactly as the faulting instruction would be re-executed. Use as
// `const v = yield* retrying(() => cpu.load32(ea))` inside a flow.

import { HardwareInterrupt, MachineCheck } from '../faults.js';
import type { Op } from './software.js';

export function* retrying<T>(access: () => T, maxTries = 64): Generator<Op, T, void> {
  for (let i = 0; ; i++) {
    try {
      return access();
    } catch (e) {
      // A refused secure access carries no recovery: let it end the flow as a machine check.
      if (!(e instanceof HardwareInterrupt) || e instanceof MachineCheck || i >= maxTries) throw e;
      yield { op: 'raise', interrupt: e };
    }
  }
}
