// Running the hostile-hypervisor fuzz: boot a machine directory with firmware, its TPM and the
// real ultravisor, convert the agent into an SVM authorized for the machine's key, let the real
// hypervisor take it through UV_ESM, then hand the SVM to the hostile hypervisor and run the
// steps fast-check generated, one doorbell each, checking after every step.

import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { buildEsmBlobWithKey, computeDigests, svmAdd } from '../../../src/esm/index.js';
import { writeCpio, S_IFREG } from '../../../src/image/cpio.js';
import { RTAS_TEXT } from '../../../src/image/rtas.js';
import { KERNEL_LOAD_ADDR } from '../../../src/image/kernel.js';
import { bootSystem, type System } from '../../hypervisor/system.js';
import { agentCode, agentImage } from './agent.js';
import { Driver } from './driver.js';
import { HostileHypervisor } from './hostile-hv.js';
import { scanMemory } from './checks.js';
import { showStep, step as stepArb, type Step } from './spec.js';

const VM_BYTES = 32 << 20;
/** Machine steps one fuzz step may take before it counts as a hang. */
const STEP_BUDGET = 200_000;
const SCAN_EVERY = 500;

export interface FuzzRun { sys: System; d: Driver; hv: HostileHypervisor }

/** Boot the machine and bring the agent up as a running SVM under the hostile hypervisor. */
export function bootFuzz(machineDir: string, pem: Uint8Array): FuzzRun {
  const d = new Driver();
  const enc = new TextEncoder();
  d.passphrase = enc.encode(`fuzz-passphrase-${randomBytes(12).toString('hex')}`);
  d.kernelImage = agentImage();
  d.kbase = KERNEL_LOAD_ADDR;
  const bootargs = 'console=hvc0 svm=on';
  const initramfs = writeCpio([{ name: 'etc/agent', mode: S_IFREG | 0o644, data: enc.encode('fuzz agent\n') }]);
  const blob = buildEsmBlobWithKey({
    origin: { pubPem: pem, comment: 'fuzz owner' },
    digests: computeDigests({ kernelImage: d.kernelImage, initramfs, bootargs, rtas: RTAS_TEXT }),
    files: [{ name: 'rootd', data: d.passphrase }],
  });
  d.symkey = blob.symkey;
  const sys = bootSystem(machineDir, {}, [agentCode(d)]);
  d.machine = sys.machine;
  d.uv = sys.uv;
  d.fingerprint = sys.uv.fingerprint;
  const hv = new HostileHypervisor(sys.hv, d, VM_BYTES);
  sys.machine.installHypervisor(hv);
  sys.hv.createVm({
    name: 'fuzz-svm', memBytes: VM_BYTES, secureGuest: true,
    image: { kernel: { paddr: KERNEL_LOAD_ADDR, bytes: d.kernelImage, entry: KERNEL_LOAD_ADDR }, initramfs: svmAdd(initramfs, blob.bytes, 'esmb.dtb'), bootargs, rtas: RTAS_TEXT },
  });
  const r = sys.machine.run({ until: () => d.active, maxSteps: 20_000_000 });
  if (!d.active) {
    sys.close();
    throw new Error(`the fuzz SVM did not come up (${r.reason}): ${d.esmFailure ?? sys.machine.cpus.map((c) => c.stopReason).join(', ')}`);
  }
  d.internalErrors = sys.machine.trace.counts.get('uv-internal-error') ?? 0;
  return { sys, d, hv };
}

/** One step: hand it over, run the machine until the agent (or the hypervisor, once the SVM is gone) has checked it. */
export function runStep(f: FuzzRun, s: Step): void {
  const { d, sys } = f;
  d.steps++;
  d.step = s;
  d.answers = [...s.answers];
  d.phase = 'hv';
  for (const c of sys.machine.cpus) if (c.idle) sys.machine.raiseExternal(c.id);
  const r = sys.machine.run({ until: () => d.now() === 'done', maxSteps: STEP_BUDGET });
  if (d.now() !== 'done') d.violation(`the step did not finish (${r.reason} after ${r.steps} machine steps, phase ${d.phase}): ${sys.machine.cpus.map((c) => c.stopReason || (c.idle ? 'idle' : c.mode)).join(', ')}`);
  const halted = sys.machine.cpus.filter((c) => c.halted);
  if (halted.length) d.violation(`a hardware thread stopped: ${halted.map((c) => c.stopReason).join(', ')}`);
  if (d.steps % SCAN_EVERY === 0 || (d.dead && !d.stats.has('scanned after the SVM ended'))) {
    if (d.dead) d.count('scanned after the SVM ended');
    scanMemory(d);
  }
  if (d.violations.length) throw new Error(d.violations.join('\n'));
}

/** The end of a sequence: every page read back, and all memory searched. */
export function finish(f: FuzzRun): void {
  const { d } = f;
  if (!d.dead) runStep(f, { svm: { op: 'verify', pages: [...d.pages.keys()] }, answers: [], sample: 1 });
  scanMemory(d);
  if (d.violations.length) throw new Error(d.violations.join('\n'));
}

interface Model { steps: number }

class FuzzCommand implements fc.Command<Model, FuzzRun> {
  constructor(readonly s: Step) {}
  check(): boolean { return true; }
  run(m: Model, r: FuzzRun): void { runStep(r, this.s); m.steps++; }
  toString(): string { return showStep(this.s); }
}

export const commandArb = stepArb.map((s) => new FuzzCommand(s));

export interface Totals { steps: number; sequences: number; stats: Map<string, number> }

/**
 * Run sequences of up to `maxCommands` steps, one booted system each, until `target` steps ran.
 * A failing sequence is shrunk by fast-check unless `endOnFailure`.
 */
export function fuzzSequences(o: { machineDir: string; pem: Uint8Array; target: number; maxCommands: number; seed: number; endOnFailure?: boolean; log?: (s: string) => void }): Totals {
  const totals: Totals = { steps: 0, sequences: 0, stats: new Map() };
  for (let i = 0; totals.steps < o.target; i++) {
    const seed = (o.seed + i * 0x9e3779b1) | 0;
    try {
      runSequence(o, seed, totals);
    } catch (e) {
      // What the checks saw first, then fast-check's report (seed, path, the shrunk steps).
      const cause = (e as { cause?: unknown }).cause;
      throw new Error(`${cause instanceof Error ? cause.message : 'the property failed'}\n${(e as Error).message}`, { cause: e });
    }
    totals.sequences++;
    o.log?.(`sequence ${i + 1} (seed ${seed}): ${totals.steps} steps so far`);
  }
  return totals;
}

/** One sequence on a freshly booted system, as one fast-check property run (shrunk on failure unless endOnFailure). */
function runSequence(o: { machineDir: string; pem: Uint8Array; target: number; maxCommands: number; endOnFailure?: boolean }, seed: number, totals: Totals): void {
  fc.assert(fc.property(fc.commands([commandArb], { maxCommands: Math.min(o.maxCommands, o.target - totals.steps), size: 'max' }), (cmds) => {
    const r = bootFuzz(o.machineDir, o.pem);
    try {
      const m: Model = { steps: 0 };
      fc.modelRun(() => ({ model: m, real: r }), cmds);
      finish(r);
      totals.steps += m.steps;
      for (const [k, v] of r.d.stats) totals.stats.set(k, (totals.stats.get(k) ?? 0) + v);
    } finally {
      r.sys.close();
    }
  }), { numRuns: 1, seed, endOnFailure: o.endOnFailure ?? false });
}
