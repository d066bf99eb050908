// 22. Call SVM-only ultracalls from the hypervisor, and hypervisor-only ones from the SVM. The
// compromised hypervisor, while it handles one of the SVM's hypercalls (LPIDR is the SVM's),
// asks for the SVM's attached file (UV_ESMB_GET_FILE), its key fingerprint, to share and
// unshare its pages, and for UV_ESM. The SVM's own kernel (built to misbehave) calls every
// hypervisor-only ultracall on its own partition (write its partition-table entry, page its
// memory out, terminate itself, SCOM, restricted SPRs, UV_RETURN...) and UV_ESM again. Every
// one must be refused with U_PERMISSION and give nothing away. Controls: the same kinds of
// call from their rightful caller work (the SVM reads its file and fingerprint and shares a
// page; the hypervisor reads SCOM and a restricted SPR).

import type { Cpu } from '../../hw/cpu/cpu.js';
import type { Op } from '../../hw/cpu/software.js';
import { MSR } from '../../abi/msr.js';
import { SPR } from '../../abi/spr.js';
import { HC } from '../../abi/hcalls.js';
import { UV } from '../../abi/ultracalls.js';
import { U, retName } from '../../abi/retcodes.js';
import { PAGE_SIZE } from '../../abi/pages.js';
import { KERNEL_LOAD_ADDR } from '../../image/kernel.js';
import { verdict, type AttackScenario } from '../types.js';
import { ultracall, type Gen } from '../malicious.js';
import { ending, poweredOff, strikeOnce } from '../helpers.js';
import { packName, scriptKernelCode, scriptKernelImage, type ScriptApi } from '../scripted-svm.js';

interface Call { name: string; rc: number; out?: bigint[] }
const NAME = Object.fromEntries(Object.entries(UV).map(([k, v]) => [v, k])) as Record<number, string>;

/** The SVM's side: every hypervisor-only (and VM-kernel-only) ultracall, then its own calls as control. */
function* svmSide(k: ScriptApi): Generator<Op, void, void> {
  const lpid = Number(k.report.lpid ?? 1);
  const page = k.page(2);
  const denied: [number, (number | bigint)[]][] = [
    [UV.UV_WRITE_PATE, [lpid, 0, 0]], [UV.UV_PAGE_OUT, [lpid, page, page, 0, 16]], [UV.UV_PAGE_IN, [lpid, page, page, 0, 16]],
    [UV.UV_PAGE_INVAL, [lpid, page, 16]], [UV.UV_REGISTER_MEM_SLOT, [lpid, 1 << 30, PAGE_SIZE, 0, 7]], [UV.UV_UNREGISTER_MEM_SLOT, [lpid, 0]],
    [UV.UV_READ_SCOM, [0, 0x00010000]], [UV.UV_WRITE_SCOM, [0, 0x00010000, 1]], [UV.UV_RESTRICTED_SPR_READ, [0xB4]],
    [UV.UV_RESTRICTED_SPR_WRITE, [0xB4, 1]], [UV.UV_RETURN, []], [UV.UV_READ_MEM, [page, 0, 0, 8]], [UV.UV_WRITE_MEM, [page, 0, 0, 8]],
    [UV.UV_SEND_SBE_COMMAND, [0, 0, 0]], [UV.UV_ESM, [KERNEL_LOAD_ADDR, 0x100000]], [UV.UV_ESM_REASON, []], [UV.UV_SVM_TERMINATE, [lpid]],
  ];
  const wrong: Call[] = [];
  for (const [nr, args] of denied) wrong.push({ name: NAME[nr]!, rc: (yield* k.ucall(nr, ...args)).rc });
  k.report.wrong = wrong;
  // Rightful calls: its attached file, its key's fingerprint, sharing a page of its own.
  const file = yield* k.file('canary');
  k.report.file = file;
  k.report.fingerprint = (yield* k.ucall(UV.UV_SVM_KEY_FINGERPRINT)).rc;
  k.report.share = (yield* k.ucall(UV.UV_SHARE_PAGE, k.page(3) / PAGE_SIZE, 1)).rc;
  // A hypercall the hypervisor handles (where it tries the SVM's ultracalls).
  yield* k.hcall(HC.H_GET_TERM_CHAR, 0);
  k.report.after = true;
}

export const scenario: AttackScenario = {
  name: 'wrong-caller-ultracalls',
  number: 22,
  tried: "call the SVM's ultracalls (its attached file, fingerprint, share, unshare, UV_ESM) from the hypervisor, and every hypervisor-only one from the SVM",
  async run(ctx) {
    const cs = ctx.canary('svm');
    const reports: Record<string, Record<string, unknown>> = {};
    const hv: { wrong: Call[]; right: Call[] } = { wrong: [], right: [] };
    let victim = -1;
    const strike = strikeOnce(() => victim >= 0, (cpu: Cpu) => (function* (): Gen {
      const name = packName('canary');
      const tries: [number, (number | bigint)[]][] = [
        [UV.UV_ESMB_GET_FILE, [0, ...name]], [UV.UV_SVM_KEY_FINGERPRINT, []], [UV.UV_SHARE_PAGE, [0x100000 / PAGE_SIZE, 4]],
        [UV.UV_UNSHARE_PAGE, [0x100000 / PAGE_SIZE, 4]], [UV.UV_UNSHARE_ALL_PAGES, []], [UV.UV_ESM, [KERNEL_LOAD_ADDR, 0x100000]], [UV.UV_ESM_REASON, []],
      ];
      for (const [nr, args] of tries) { const r = yield* ultracall(cpu, nr, ...args); hv.wrong.push({ name: NAME[nr]!, rc: r.rc, out: r.out }); }
      for (const [nr, args] of [[UV.UV_READ_SCOM, [0, 0x00010000]], [UV.UV_RESTRICTED_SPR_READ, [0xB4]]] as [number, number[]][]) {
        hv.right.push({ name: NAME[nr]!, rc: (yield* ultracall(cpu, nr, ...args)).rc });
      }
    })(), (cpu: Cpu, vector: number) => vector === 0xC00 && cpu.lpid === victim && cpu.regs.getGpr(3) === BigInt(HC.H_GET_TERM_CHAR) && (cpu.mfspr(SPR.SRR1!) & MSR.S) !== 0n);
    const sys = ctx.boot({ canaries: [cs], tampers: [strike], code: [scriptKernelCode({ 'wrong-caller': svmSide }, reports)] });
    try {
      const vm = sys.createVm('svm', ctx.svm(cs, { kernel: scriptKernelImage('wrong-caller') }));
      (reports['wrong-caller'] ??= {}).lpid = vm.lpid;
      victim = vm.lpid;
      await sys.runToEnd();
      const r = reports['wrong-caller'];
      const svmWrong = (r.wrong as Call[] | undefined) ?? [];
      const file = r.file as Uint8Array | undefined;
      const fileBytes = Buffer.from(cs.attachment.subarray(0, 16));
      const hvGotFile = hv.wrong.some((c) => c.out && Buffer.from(c.out.map((v) => v.toString(16).padStart(16, '0')).join(''), 'hex').includes(fileBytes));
      const leaked = svmWrong.some((c) => c.rc !== U.U_PERMISSION) || hv.wrong.some((c) => c.rc !== U.U_PERMISSION) || hvGotFile || sys.watch.of(cs.id).length > 0;
      const controlOk = strike.fired && svmWrong.length === 17 && r.after === true && !!file && Buffer.from(file).equals(Buffer.from(cs.attachment)) &&
        r.fingerprint === 0 && r.share === 0 && hv.right.every((c) => c.rc === 0) && poweredOff(vm);
      const list = (calls: Call[]) => calls.map((c) => `${c.name} ${retName(c.rc, 'U')}`).join(', ');
      const evidence = `from the hypervisor (LPIDR = the SVM's): ${list(hv.wrong)}${hvGotFile ? '; THE ATTACHMENT CAME BACK' : ''}. ` +
        `From the SVM's kernel: ${list(svmWrong)}; the SVM ${ending(vm)}. ` +
        `Control: the SVM's own calls: UV_ESMB_GET_FILE ${file ? `returned its ${file.length}-byte attachment${Buffer.from(file).equals(Buffer.from(cs.attachment)) ? ' intact' : ' CHANGED'}` : 'failed'}, UV_SVM_KEY_FINGERPRINT ${retName(Number(r.fingerprint), 'U')}, UV_SHARE_PAGE ${retName(Number(r.share), 'U')}; ` +
        `the hypervisor's: ${list(hv.right)}`;
      return verdict(leaked, controlOk, evidence);
    } finally {
      sys.close();
    }
  },
};

