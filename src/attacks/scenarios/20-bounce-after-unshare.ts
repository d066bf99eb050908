// 20. Read through a bounce page after the SVM unshared it. The SVM shares a page for device
// I/O (a SWIOTLB bounce page): it writes into it, the hypervisor's device writes into it, each
// reads the other's data. Then the SVM unshares the page and keeps its secret there (its ESM
// attachment). The compromised hypervisor reads through everything it still has: the normal
// frame that backed the page, DMA to that frame, its device's DMA window at the page's guest
// address, the frame's address without the secure bit, all of normal memory. None may show the
// secret. Control: before the unshare, the same reads return what the SVM put in the page.

import type { Cpu } from '../../hw/cpu/cpu.js';
import type { Op } from '../../hw/cpu/software.js';
import { MSR } from '../../abi/msr.js';
import { SPR } from '../../abi/spr.js';
import { HC } from '../../abi/hcalls.js';
import { UV } from '../../abi/ultracalls.js';
import { retName } from '../../abi/retcodes.js';
import { PAGE_SIZE } from '../../abi/pages.js';
import { FRAME_SIZE, SECURE_BIT } from '../../hw/memory.js';
import { verdict, type AttackScenario } from '../types.js';
import { attempt, ending, hex, poweredOff, shortWhy, strikeOnce } from '../helpers.js';
import type { Tamper } from '../malicious.js';
import { scriptKernelCode, scriptKernelImage, type ScriptApi } from '../scripted-svm.js';

const enc = new TextEncoder();
const MARK = enc.encode('bounce data from the SVM, shared on purpose');
const DEVICE = enc.encode('data the device wrote');

function* svmSide(k: ScriptApi): Generator<Op, void, void> {
  const b = k.page(4), gfn = b / PAGE_SIZE;
  k.report.share = (yield* k.ucall(UV.UV_SHARE_PAGE, gfn, 1)).rc;
  yield* k.write(b, MARK);
  yield* k.hcall(HC.H_GET_TERM_CHAR, 0); // the hypervisor's device does its I/O now
  const seen = yield* k.read(b + 4096, DEVICE.length);
  k.report.deviceSeen = !!seen && Buffer.from(seen).equals(Buffer.from(DEVICE));
  k.report.unshare = (yield* k.ucall(UV.UV_UNSHARE_PAGE, gfn, 1)).rc;
  const secret = yield* k.file('canary');
  if (secret) {
    yield* k.write(b, secret);
    const back = yield* k.read(b, secret.length);
    k.report.privateOk = !!back && Buffer.from(back).equals(Buffer.from(secret));
  }
  yield* k.hcall(HC.H_GET_TERM_CHAR, 0); // the hypervisor looks again
}

export const scenario: AttackScenario = {
  name: 'bounce-page-after-unshare',
  number: 20,
  tried: 'read what the SVM keeps in a former bounce page after it unshared it: through the old frame, DMA, the device window, the frame without the secure bit, all normal memory',
  async run(ctx) {
    const cs = ctx.canary('svm');
    const reports: Record<string, Record<string, unknown>> = {};
    let victim = -1;
    const f: { frame?: number; before?: string[]; beforeHas?: boolean; after: string[]; afterHits: number; device?: string; secureFrame?: number; normalDump?: number } = { after: [], afterHits: 0 };
    const gpa = 0x100000 + 4 * PAGE_SIZE;
    const secret = Buffer.from(cs.attachment.subarray(0, 32));
    // The SVM's hypercalls are the hypervisor's moments: the first after the share, the second after the unshare.
    let hcalls = 0;
    const sawHcall = (cpu: Cpu, vector: number) =>
      vector === 0xC00 && cpu.lpid === victim && cpu.regs.getGpr(3) === BigInt(HC.H_GET_TERM_CHAR) && (cpu.mfspr(SPR.SRR1!) & MSR.S) !== 0n;
    const counter: Tamper = { entry: (cpu, vector) => { if (sawHcall(cpu, vector)) hcalls++; return undefined; } };
    const at = (n: number) => () => hcalls === n;
    const first = strikeOnce(at(1), () => {
      const vm = sys.hv.vmByLpid(victim)!;
      const frame = vm.pages.get(gpa / FRAME_SIZE)?.frame;
      f.frame = frame;
      if (frame === undefined) return;
      const r = attempt(() => sys.machine.host.read(frame, MARK.length));
      f.beforeHas = r.ok && Buffer.from(r.value).equals(Buffer.from(MARK));
      const dev = sys.hv.dmaFor(vm);
      const d = attempt(() => { dev.write(gpa + 4096, DEVICE); return dev.read(gpa, MARK.length); });
      f.before = [`host port: ${r.ok ? 'read it' : shortWhy(r.why)}`, `the device window: ${d.ok ? (Buffer.from(d.value).equals(Buffer.from(MARK)) ? 'read it and wrote its own data' : 'read something else') : shortWhy(d.why)}`];
    }, sawHcall);
    const second = strikeOnce(at(2), () => {
      const m = sys.machine;
      const vm = sys.hv.vmByLpid(victim)!;
      const look = (what: string, read: () => Uint8Array) => {
        const r = attempt(read);
        const has = r.ok && Buffer.from(r.value).includes(secret);
        if (has) f.afterHits++;
        f.after.push(`${what}: ${r.ok ? (has ? 'THE SECRET' : 'no secret') : shortWhy(r.why)}`);
      };
      if (f.frame !== undefined) {
        look(`the old frame ${hex(f.frame)} (host port)`, () => m.host.read(f.frame!, FRAME_SIZE));
        look('DMA to it', () => m.dma.read(f.frame!, FRAME_SIZE));
      }
      look(`the device window at ${hex(gpa)}`, () => sys.hv.dmaFor(vm).read(gpa, FRAME_SIZE));
      const where = m.findInAllMemory(secret);
      const sec = where.find((h) => h.secure);
      if (sec) {
        f.secureFrame = sec.ra - (sec.ra % FRAME_SIZE);
        look(`its secure frame ${hex(f.secureFrame)}`, () => m.host.read(f.secureFrame!, 64));
        look('that frame without the secure bit', () => m.host.read(f.secureFrame! - SECURE_BIT, 64));
      }
      f.normalDump = where.filter((h) => !h.secure).length;
      f.afterHits += f.normalDump;
    }, sawHcall);
    const sys = ctx.boot({ canaries: [cs], tampers: [counter, first, second], code: [scriptKernelCode({ bounce: svmSide }, reports)] });
    try {
      const vm = sys.createVm('svm', ctx.svm(cs, { kernel: scriptKernelImage('bounce') }));
      victim = vm.lpid;
      await sys.runToEnd();
      const r = reports.bounce ?? {};
      const leaked = f.afterHits > 0 || sys.watch.of(cs.id).length > 0 || !second.fired;
      const controlOk = first.fired && f.beforeHas === true && r.deviceSeen === true && r.privateOk === true && r.share === 0 && r.unshare === 0 && poweredOff(vm);
      const evidence = `after UV_UNSHARE_PAGE (${retName(Number(r.unshare), 'U')}) the SVM wrote its attachment into the page (read back ${r.privateOk ? 'intact' : 'CHANGED'}): ` +
        `${f.after.join('; ')}; all memory: the secret in ${f.normalDump ?? '?'} normal frames${f.secureFrame !== undefined ? ` and in secure frame ${hex(f.secureFrame)}` : ''}; the SVM ${ending(vm)}. ` +
        `Control: while the page was shared (UV_SHARE_PAGE ${retName(Number(r.share), 'U')}), ${f.before?.join('; ') ?? 'the hypervisor never looked'}; the SVM ${r.deviceSeen ? 'read the device\'s data' : 'did not see the device\'s data'}`;
      return verdict(leaked, controlOk, evidence);
    } finally {
      sys.close();
    }
  },
};
