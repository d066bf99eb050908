// Running the machine until every VM has stopped. The machine's loop is synchronous; when a
// hypervisor flow naps on asynchronous I/O (a TPM behind a socket) the loop returns to the
// event loop so the I/O can finish, and the hypervisor's completion wakes the thread.

import type { Machine } from '../hw/machine.js';
import type { Hypervisor } from './kvm.js';

export interface RunResult {
  /** done: every VM stopped (or `until` held); stalled: nothing can run and nothing is pending. */
  reason: 'done' | 'stalled' | 'halted' | 'max-steps';
  steps: number;
}

const tick = () => new Promise<void>((r) => setImmediate(r));

export async function runMachine(m: Machine, hv: Hypervisor, opts: { until?: () => boolean; maxSteps?: number; slice?: number } = {}): Promise<RunResult> {
  const done = () => hv.allDone || (opts.until?.() ?? false);
  const slice = opts.slice ?? 50_000;
  let steps = 0;
  for (;;) {
    if (done()) return { reason: 'done', steps };
    if (opts.maxSteps !== undefined && steps >= opts.maxSteps) return { reason: 'max-steps', steps };
    const r = m.run({ until: done, maxSteps: hv.pending.size > 0 ? Math.min(slice, 2000) : slice });
    steps += r.steps;
    if (done()) return { reason: 'done', steps };
    if (r.reason === 'halted') return { reason: 'halted', steps };
    if (r.reason === 'idle') {
      if (hv.pending.size === 0) return { reason: 'stalled', steps };
      await Promise.race(hv.pending);
    }
    await tick();
  }
}
