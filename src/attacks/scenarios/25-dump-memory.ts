// 25. Dump all memory after the SVM booted and search it for the symmetric key and the disk
// passphrase. Once the SVM has opened its encrypted root disk and read its canary file, the
// compromised hypervisor copies out every frame of normal memory and tries every frame of
// secure memory (host port), then searches the dump for the ESM blob's master key, the disk
// passphrase, the canary file and the ESM attachment. A forensic search of all frames, secure
// ones included, says where they are at all: the master key must be nowhere (the ultravisor
// forgets it), the rest only in secure memory. Control: the same dump of the normal VM beside
// it finds its canary file in normal memory.

import { FRAME_SIZE } from '../../hw/memory.js';
import type { Machine } from '../../hw/machine.js';
import type { Vm } from '../../hypervisor/index.js';
import { verdict, type AttackScenario } from '../types.js';
import { attempt, ending, poweredOff, readCanaryIntact } from '../helpers.js';
import { whereIs } from '../esm-outcome.js';

interface Dump { normalFrames: number; secureTried: number; secureRead: number; hits: Map<string, number> }

/** Everything the hypervisor can copy out, searched for each needle. */
function dump(m: Machine, needles: [string, Uint8Array][]): Dump {
  const d: Dump = { normalFrames: 0, secureTried: 0, secureRead: 0, hits: new Map(needles.map(([w]) => [w, 0])) };
  for (const f of m.scanNormalMemory()) {
    d.normalFrames++;
    const b = Buffer.from(f.bytes.buffer, f.bytes.byteOffset, f.bytes.byteLength);
    for (const [what, n] of needles) if (b.indexOf(n) >= 0) d.hits.set(what, d.hits.get(what)! + 1);
  }
  for (const r of m.secureRanges()) {
    for (let a = r.start; a < r.start + r.size; a += FRAME_SIZE) {
      d.secureTried++;
      if (attempt(() => m.host.read(a, FRAME_SIZE)).ok) d.secureRead++;
    }
  }
  return d;
}

export const scenario: AttackScenario = {
  name: 'dump-all-memory',
  number: 25,
  tried: 'dump all memory once the SVM has booted and opened its disk, and search it for the master key, the disk passphrase, the canary file and the ESM attachment',
  async run(ctx) {
    const cs = ctx.canary('svm'), cv = ctx.canary('vm');
    const img = ctx.svm(cs);
    const enc = new TextEncoder();
    const svmNeedles: [string, Uint8Array][] = [
      ['master key', img.secrets!.symkey], ['passphrase', enc.encode(img.secrets!.passphrase)],
      ['canary file', cs.file.subarray(1024, 1056)], ['attachment', cs.attachment.subarray(0, 32)],
    ];
    const at: { svm?: Dump; vm?: Dump; where?: Map<string, ReturnType<typeof whereIs>> } = {};
    const sys = ctx.boot({
      canaries: [cs, cv],
      hv: {
        onConsole: (vm: Vm, line: string) => {
          if (line !== 'canary read') return;
          if (vm.name === 'svm' && !at.svm) {
            at.svm = dump(sys.machine, svmNeedles);
            at.where = new Map(svmNeedles.map(([w, n]) => [w, whereIs(sys.machine, n)]));
          }
          if (vm.name === 'vm' && !at.vm) at.vm = dump(sys.machine, [['canary file', cv.file.subarray(1024, 1056)]]);
        },
      },
    });
    try {
      const svm = sys.createVm('svm', img);
      const vm = sys.createVm('vm', ctx.vm(cv), { secureGuest: false });
      await sys.runToEnd();
      const s = at.svm, w = at.where;
      const inDump = s ? [...s.hits.values()].reduce((a, b) => a + b, 0) : 0;
      const keyAnywhere = w ? w.get('master key')!.normal + w.get('master key')!.secure : 0;
      const normalAnywhere = w ? [...w.values()].reduce((a, x) => a + x.normal, 0) : 0;
      const leaked = !s || inDump > 0 || s.secureRead > 0 || keyAnywhere > 0 || normalAnywhere > 0 || sys.watch.of(cs.id).length > 0;
      const controlOk = !!s && poweredOff(svm) && readCanaryIntact(svm, cs) && (w?.get('canary file')?.secure ?? 0) > 0 &&
        !!at.vm && at.vm.hits.get('canary file')! > 0 && poweredOff(vm);
      const evidence = !s || !w ? 'the SVM never read its canary: nothing dumped'
        : `${s.normalFrames} normal frames dumped: ${[...s.hits].map(([k, v]) => `${k} ${v}`).join(', ')}; ${s.secureTried} secure frames tried, ${s.secureRead} readable. ` +
          `Everywhere (normal/secure frames): ${[...w].map(([k, x]) => `${k} ${x.normal}/${x.secure}`).join(', ')}; the SVM ${ending(svm)}. ` +
          `Control: the normal VM's canary file in ${at.vm?.hits.get('canary file') ?? 0} of ${at.vm?.normalFrames ?? 0} normal frames dumped; it ${ending(vm)}`;
      return verdict(leaked, controlOk, evidence);
    } finally {
      sys.close();
    }
  },
};
