// 1. Read an SVM page in secure memory directly. The compromised hypervisor aims at the exact
// frame holding the SVM's memory canary (found by a forensic search the real attacker would
// not even have) and reads it every way hypervisor-mode software can: a load instruction in
// hypervisor mode, a bulk copy, the host memory port, the same frame's address without the
// secure bit, and a load by guest code of its own in a partition of its own whose page table
// maps the frame; then it sweeps every secure frame. Control: the same reads of the normal
// VM's canary page return it.

import { SECURE_BIT, FRAME_SIZE } from '../../hw/memory.js';
import type { Cpu } from '../../hw/cpu/cpu.js';
import type { Machine } from '../../hw/machine.js';
import type { Flow } from '../../hw/cpu/software.js';
import { verdict, type AttackScenario } from '../types.js';
import type { Tamper } from '../malicious.js';
import { OwnPartition, type GuestRun } from '../own-partition.js';

/** An lpid no VM uses: the attacker's own partition. */
const OWN_LPID = 4000;
import { attempt, ending, hex, locate, poweredOff, readCanaryIntact, shortWhy, strikeOnce } from '../helpers.js';

interface Reads { lines: string[]; bytes: Uint8Array[] }

function readEveryWay(cpu: Cpu, m: Machine, ra: number, len: number): Reads {
  const page = ra - (ra % FRAME_SIZE);
  const out: Reads = { lines: [], bytes: [] };
  const tries: [string, () => Uint8Array][] = [
    ['hypervisor load', () => { const b = new Uint8Array(8); new DataView(b.buffer).setBigUint64(0, cpu.load64(ra), true); return b; }],
    ['bulk copy', () => cpu.read(ra, len)],
    ['host port', () => m.host.read(ra, len)],
    ...(ra >= SECURE_BIT ? [[`alias ${hex(page - SECURE_BIT)}`, () => m.host.read(ra - SECURE_BIT, len)] as [string, () => Uint8Array]] : []),
  ];
  for (const [what, f] of tries) {
    const r = attempt(f);
    if (r.ok) out.bytes.push(r.value);
    out.lines.push(`${what}: ${r.ok ? `read ${r.value.length} bytes` : shortWhy(r.why)}`);
  }
  return out;
}

export const scenario: AttackScenario = {
  name: 'read-secure-page',
  number: 1,
  tried: "read the SVM's page in secure memory directly (load, bulk copy, host port, address without the secure bit, guest code of its own mapping it, a sweep of all secure memory)",
  async run(ctx) {
    const cs = ctx.canary('svm'), cv = ctx.canary('vm');
    const findings: { svm?: Reads; vm?: Reads; svmRa?: number; vmRa?: number; swept: number; sweptRead: number } = { swept: 0, sweptRead: 0 };
    const sys = ctx.boot({ canaries: [cs, cv] });
    const m = sys.machine;
    const find = (n: Uint8Array) => m.findInAllMemory(n);
    const own = new OwnPartition(sys.hv, m, sys.malicious, OWN_LPID);
    const guest: { svm?: GuestRun; vm?: GuestRun } = {};
    // A load by the attacker's own guest code, mapped onto the target, once the reads below are done.
    const guestLoad = (key: 'svm' | 'vm', target: () => number | undefined): Tamper & { fired: boolean } => {
      const t = {
        fired: false,
        entry: (cpu: Cpu, vector: number): Flow | undefined => {
          const ra = target();
          if (t.fired || ra === undefined || own.busy) return undefined;
          t.fired = true;
          return own.start(cpu, vector, ra, (r) => { guest[key] = r; });
        },
      };
      return t;
    };
    // Each strikes while its VM holds its canary in memory (right after the probe planted it).
    const strike = strikeOnce(() => cs.report.pc !== undefined, (cpu) => {
      const s = locate(find, cs.memory);
      findings.svmRa = s?.ra;
      if (s) findings.svm = readEveryWay(cpu, m, s.ra, cs.memory.length);
      for (const r of m.secureRanges()) {
        for (let a = r.start; a < r.start + r.size; a += FRAME_SIZE) {
          findings.swept++;
          if (attempt(() => m.host.read(a, 8)).ok) findings.sweptRead++;
        }
      }
    });
    const control = strikeOnce(() => cv.report.pc !== undefined, (cpu) => {
      const v = locate(find, cv.memory);
      findings.vmRa = v?.ra;
      if (v) findings.vm = readEveryWay(cpu, m, v.ra, cv.memory.length);
    });
    const gs = guestLoad('svm', () => (strike.fired ? findings.svmRa : undefined));
    const gv = guestLoad('vm', () => (control.fired ? findings.vmRa : undefined));
    sys.malicious.tampers.push(own, strike, control, gs, gv);
    try {
      const svm = sys.createVm('svm', ctx.svm(cs));
      const vm = sys.createVm('vm', ctx.vm(cv), { secureGuest: false });
      await sys.runToEnd();
      const leakedBytes = findings.svm?.bytes.some((b) => Buffer.from(b).includes(Buffer.from(cs.memory.subarray(0, 8)))) ?? false;
      const sightings = sys.watch.of(cs.id);
      const ran = strike.fired && !!findings.svm;
      const canaryWord = (c: typeof cs) => new DataView(c.memory.buffer, c.memory.byteOffset).getBigUint64(0, true);
      const guestLine = (r: GuestRun | undefined, c: typeof cs) => !r ? 'not run'
        : r.kind === 'sc' ? `read ${hex(r.r3)}${r.r3 === canaryWord(c) ? ' (the canary)' : ''}` : `interrupt ${hex(r.vector)} at ${hex(r.srr0)}`;
      const guestRefusal = guest.svm?.kind === 'interrupt' ? sys.events.find((e) => e.kind === 'refused' && e.access === 'load' && e.address === hex(findings.svmRa ?? -1)) : undefined;
      const leaked = (findings.svm?.bytes.length ?? 0) > 0 || findings.sweptRead > 0 || sightings.length > 0 || guest.svm?.kind === 'sc';
      const controlOk = ran && control.fired && !!findings.vm && findings.vm.bytes.some((b) => Buffer.from(b).equals(Buffer.from(cv.memory))) &&
        guest.vm?.kind === 'sc' && guest.vm.r3 === canaryWord(cv) && guest.svm !== undefined && poweredOff(vm);
      const svmOk = poweredOff(svm) && readCanaryIntact(svm, cs);
      const evidence = !strike.fired || !findings.svm
        ? `the attack never found its target (fired: ${strike.fired}, SVM canary located: ${findings.svmRa !== undefined})`
        : `SVM canary page at ${hex(findings.svmRa!)}: ${findings.svm.lines.join('; ')}${leakedBytes ? ' (CANARY BYTES READ)' : ''}; ` +
          `guest load in partition ${OWN_LPID} mapping it: ${guestLine(guest.svm, cs)}${guestRefusal ? ` (machine check: ${guestRefusal.why as string})` : ''}; ` +
          `${findings.swept} secure frames swept, ${findings.sweptRead} readable; ` +
          `${sightings.length ? `canary seen: ${sightings[0]!.where}` : 'canary in nothing the hypervisor holds'}; SVM ${svmOk ? 'ran on and read its canary intact' : ending(svm)}. ` +
          `Control: the normal VM's canary page at ${findings.vmRa === undefined ? '?' : hex(findings.vmRa)}: ${findings.vm?.lines.join('; ') ?? 'not found'}; guest load: ${guestLine(guest.vm, cv)}`;
      return verdict(leaked, controlOk && svmOk, evidence);
    } finally {
      sys.close();
    }
  },
};
