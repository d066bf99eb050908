// 24. Kill the SVM in the middle of UV_ESM and search memory for what it left. The compromised
// hypervisor, instead of answering one of the ultravisor's requests during the transition,
// terminates the SVM (UV_SVM_TERMINATE), lets the request fail and tears the VM down: halfway
// through the TPM conversation; right after the master key was unwrapped, while the
// ultravisor hashes the kernel with the key and the attachments decrypted; and at
// H_SVM_INIT_DONE, when every check has passed. It then searches every frame of memory,
// secure ones included, for the master key, the disk passphrase, the ESM attachment and the
// SVM's kernel and initramfs bytes: nothing may be left. Control: the same search, while an
// SVM left alone runs, finds its kernel, its initramfs and its memory canary in secure memory.

import type { Cpu } from '../../hw/cpu/cpu.js';
import { HC } from '../../abi/hcalls.js';
import { MSR } from '../../abi/msr.js';
import { SPR } from '../../abi/spr.js';
import { UV } from '../../abi/ultracalls.js';
import { retName } from '../../abi/retcodes.js';
import type { Vm } from '../../hypervisor/index.js';
import type { SystemImage } from '../../system/index.js';
import { verdict, type AttackScenario } from '../types.js';
import { preserving, ultracall, type Tamper } from '../malicious.js';
import { countEvents, ending, poweredOff, readCanaryIntact } from '../helpers.js';
import { describeEsm, esmOutcome, whereIs } from '../esm-outcome.js';
import type { Flow } from '../../hw/cpu/software.js';

type Point = 'mid-unwrap' | 'after-unwrap' | 'init-done';
const POINTS: Record<Point, string> = {
  'mid-unwrap': 'halfway through the TPM conversation',
  'after-unwrap': 'right after the master key was unwrapped (hashing the kernel)',
  'init-done': 'at H_SVM_INIT_DONE (every check passed)',
};

/** The bytes to look for: what the SVM's owner sealed or attached, and what ran in it. */
function needles(img: SystemImage, attachment: Uint8Array): [string, Uint8Array][] {
  const k = img.image.kernel.bytes, i = img.image.initramfs!;
  return [
    ['master key', img.secrets!.symkey], ['passphrase', new TextEncoder().encode(img.secrets!.passphrase)], ['attachment', attachment.subarray(0, 32)],
    ['kernel', k.subarray(k.length >> 1, (k.length >> 1) + 32)], ['initramfs', i.subarray(i.length - 64, i.length - 32)],
  ];
}

function search(m: Parameters<typeof whereIs>[0], ns: [string, Uint8Array][]): { line: string; found: number; secure: number } {
  let found = 0, secure = 0;
  const parts = ns.map(([what, b]) => { const w = whereIs(m, b); found += w.normal + w.secure; secure += w.secure; return `${what} ${w.normal}/${w.secure}`; });
  return { line: parts.join(', '), found, secure };
}

export const scenario: AttackScenario = {
  name: 'kill-mid-esm',
  number: 24,
  tried: 'terminate the SVM in the middle of UV_ESM (mid-unwrap, after the unwrap, at H_SVM_INIT_DONE) and search all memory for what it left',
  async run(ctx) {
    const cs = ctx.canary('svm');
    let point: Point | undefined;
    let victim = -1;
    let tpm = 0;
    const killed: Partial<Record<Point, string>> = {};
    const tamper: Tamper = {
      entry(cpu: Cpu, vector: number, honest: () => Flow): Flow | undefined {
        if (vector !== 0xC00 || cpu.lpid !== victim || point === undefined || killed[point] !== undefined) return undefined;
        if ((cpu.mfspr(SPR.SRR1!) & (MSR.S | MSR.HV)) !== MSR.S) return undefined;
        const nr = Number(cpu.regs.getGpr(3));
        if (nr === HC.H_SVM_TPM_COMM) tpm++;
        const now = point === 'mid-unwrap' ? nr === HC.H_SVM_TPM_COMM && tpm === 4
          : point === 'after-unwrap' ? nr === HC.H_SVM_PAGE_IN && tpm > 0
            : nr === HC.H_SVM_INIT_DONE;
        if (!now) return undefined;
        const p = point;
        return (function* (): Flow {
          const r = yield* preserving(cpu, ultracall(cpu, UV.UV_SVM_TERMINATE, victim));
          killed[p] = `UV_SVM_TERMINATE ${retName(r.rc, 'U')}`;
          yield* honest();
        })();
      },
    };
    const sys = ctx.boot({ canaries: [cs], tampers: [tamper] });
    const runs: { point: Point; vm: Vm; after: ReturnType<typeof search> }[] = [];
    let whileRunning: ReturnType<typeof search> | undefined;
    let control: Vm | undefined;
    try {
      for (const p of Object.keys(POINTS) as Point[]) {
        point = p; tpm = 0;
        const img = ctx.svm(cs);
        const vm = sys.createVm(p, img);
        victim = vm.lpid;
        await sys.runToEnd();
        runs.push({ point: p, vm, after: search(sys.machine, needles(img, cs.attachment)) });
      }
      point = undefined;
      const img = ctx.svm(cs);
      control = sys.createVm('svm', img);
      victim = control.lpid;
      await sys.run({ until: () => control!.console.includes('canary read') });
      whileRunning = search(sys.machine, [...needles(img, cs.attachment), ['memory canary', cs.memory.subarray(0, 32)]]);
      await sys.runToEnd();
    } finally {
      sys.close();
    }
    const leaked = runs.some((r) => r.after.found > 0 || esmOutcome(sys.events, r.vm).secure || readCanaryIntact(r.vm, cs)) || sys.watch.of(cs.id).length > 0;
    const terminated = countEvents(sys.events, 'uv-svm-terminated');
    const controlOk = runs.every((r) => killed[r.point] === `UV_SVM_TERMINATE U_SUCCESS`) && !!control && poweredOff(control) && readCanaryIntact(control, cs) && (whileRunning?.secure ?? 0) >= 3;
    const evidence = `${runs.map((r) => `killed ${POINTS[r.point]} (${killed[r.point] ?? 'NEVER'}): ${describeEsm(esmOutcome(sys.events, r.vm))}; the VM ${ending(r.vm)}; then in all memory (normal/secure frames): ${r.after.line}`).join('. ')}. ` +
      `The ultravisor reported ${terminated} terminations. ` +
      `Control: the same search while an SVM left alone ran (it ${control && readCanaryIntact(control, cs) ? 'read its canary' : 'did not read its canary'} and ${control ? ending(control) : 'never started'}): ${whileRunning?.line ?? 'not done'}`;
    return verdict(leaked, controlOk, evidence);
  },
};
