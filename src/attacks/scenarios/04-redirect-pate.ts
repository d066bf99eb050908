// 4. Redirect the SVM's partition-table entry. The compromised hypervisor builds a page table
// of its own in normal memory that maps the SVM's canary page onto a bait frame, and tries to
// make the hardware use it for the SVM: UV_WRITE_PATE for the SVM's lpid; a PTCR write
// pointing the machine at a partition table of its own; a direct write into the real
// partition table (which the PTCR it can read says is in secure memory). Control: the same
// UV_WRITE_PATE for the normal VM's lpid is accepted, and the same mtspr path writes an
// ordinary hypervisor SPR.

import { randomBytes } from 'node:crypto';
import { UV } from '../../abi/ultracalls.js';
import { SPR } from '../../abi/spr.js';
import { retName } from '../../abi/retcodes.js';
import { decodePtcr, encodePtcr, PATE_SIZE } from '../../hw/mmu.js';
import { PartitionPageTable } from '../../hypervisor/pagetable.js';
import type { Vm } from '../../hypervisor/index.js';
import { verdict, type AttackScenario } from '../types.js';
import { ultracall } from '../malicious.js';
import { attempt, countEvents, ending, hex, poweredOff, readCanaryIntact, shortWhy, strikeOnce } from '../helpers.js';

function pateBytes(dw0: bigint): Uint8Array {
  const b = new Uint8Array(PATE_SIZE);
  new DataView(b.buffer).setBigUint64(0, dw0, false);
  return b;
}

export const scenario: AttackScenario = {
  name: 'redirect-pate',
  number: 4,
  tried: "point the SVM's partition-table entry at a hypervisor-built page table (UV_WRITE_PATE, a PTCR write, a write into the partition table itself)",
  async run(ctx) {
    const cs = ctx.canary('svm'), cv = ctx.canary('vm');
    const sys = ctx.boot({ canaries: [cs, cv] });
    const m = sys.machine;
    const byName = (n: string): Vm => sys.hv.vms.find((v) => v.name === n)!;
    const f: { pate?: number; ptcr?: string; table?: string; ptcrBase?: number; ctlPate?: number; ctlSpr?: string } = {};
    const strike = strikeOnce(() => cs.report.pc !== undefined, function* (cpu) {
      const svm = byName('svm');
      const bait = sys.hv.pool.alloc('attack bait');
      m.host.write(bait, new Uint8Array(randomBytes(64)));
      const table = new PartitionPageTable(sys.hv.pool, m.host);
      table.map(cs.report.memoryGpa ?? 0, bait);
      f.pate = (yield* ultracall(cpu, UV.UV_WRITE_PATE, svm.lpid, table.pate0, 0)).rc;
      // A partition table of its own, whose entry for the SVM names the same table.
      const pt = sys.hv.pool.alloc('attack partition table');
      m.host.write(pt + svm.lpid * PATE_SIZE, pateBytes(table.pate0));
      const w = attempt(() => cpu.mtspr(SPR.PTCR!, encodePtcr(pt, 4)));
      f.ptcr = w.ok ? 'written' : w.why;
      // The real partition table: the PTCR is readable, and says where it is.
      const real = attempt(() => decodePtcr(cpu.mfspr(SPR.PTCR!)).base);
      if (real.ok) {
        f.ptcrBase = real.value;
        const t = attempt(() => m.host.write(real.value + svm.lpid * PATE_SIZE, pateBytes(table.pate0)));
        f.table = t.ok ? 'written' : shortWhy(t.why);
      } else f.table = `PTCR unreadable: ${real.why}`;
    });
    const control = strikeOnce(() => cv.report.pc !== undefined, function* (cpu) {
      const vm = byName('vm');
      f.ctlPate = (yield* ultracall(cpu, UV.UV_WRITE_PATE, vm.lpid, vm.table.pate0, 0)).rc;
      const old = cpu.mfspr(SPR.HSPRG0!);
      const w = attempt(() => cpu.mtspr(SPR.HSPRG0!, 0x5041544en));
      f.ctlSpr = w.ok && cpu.mfspr(SPR.HSPRG0!) === 0x5041544en ? 'written' : (w.ok ? 'not written' : w.why);
      cpu.mtspr(SPR.HSPRG0!, old);
    });
    sys.malicious.tampers.push(strike, control);
    try {
      const svm = sys.createVm('svm', ctx.svm(cs));
      const vm = sys.createVm('vm', ctx.vm(cv), { secureGuest: false });
      await sys.runToEnd();
      const svmOk = poweredOff(svm) && readCanaryIntact(svm, cs);
      const refusedPate = countEvents(sys.events, 'uv-pate-refused');
      const sprRefused = countEvents(sys.events, 'spr-refused', (e) => e.spr === SPR.PTCR);
      const ran = f.pate !== undefined;
      const leaked = f.pate === 0 || f.ptcr === 'written' || f.table === 'written' || sys.watch.of(cs.id).length > 0;
      const controlOk = ran && f.ctlPate === 0 && f.ctlSpr === 'written' && poweredOff(vm);
      const evidence = f.pate === undefined
        ? 'the attack never ran'
        : `UV_WRITE_PATE(lpid ${svm.lpid}, a hypervisor table mapping the canary page to bait) -> ${retName(f.pate, 'U')} (${refusedPate} pate-refused events); ` +
          `mtspr PTCR -> ${f.ptcr} (${sprRefused} spr-refused events); write into the partition table at ${f.ptcrBase === undefined ? '?' : hex(f.ptcrBase)} -> ${f.table}; ` +
          `SVM ${svmOk ? 'ran on through its own tables and read its canary intact' : ending(svm)}. ` +
          `Control: UV_WRITE_PATE(lpid ${vm.lpid}, the normal VM's table) -> ${f.ctlPate === undefined ? 'not tried' : retName(f.ctlPate, 'U')}; mtspr HSPRG0 -> ${f.ctlSpr}; the VM ${ending(vm)}`;
      return verdict(leaked, controlOk && svmOk, evidence);
    } finally {
      sys.close();
    }
  },
};
