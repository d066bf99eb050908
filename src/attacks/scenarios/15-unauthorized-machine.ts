// 15. Run the SVM on a machine it is not authorized for. A rogue administrator (or a cloud
// moving a workload on its own) starts on this machine: an SVM whose blob was authorized only
// for another machine; the same blob with a lockbox forged to name this machine's key (its
// fingerprint, carrying the other machine's wrapped master key: the owner's key was never
// wrapped for this TPM); and an SVM authorized for this machine's previous key, after the
// machine was rekeyed (it changed hands). The ultravisor finds no lockbox for its key, or the
// TPM cannot unwrap what it finds; each must fail UV_ESM and never reach the disk. Control:
// the same SVM authorized for this machine's current key boots and reads its canary.

import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyEsmEdit, findLockbox, generateRsaKeyPair, lockboxes, parseEsmBlob, readPublicKeyPem, splitInitramfs, svmAdd } from '../../esm/index.js';
import { rekeyMachine } from '../../firmware/index.js';
import type { SystemImage } from '../../system/index.js';
import { AttackContext } from '../context.js';
import { verdict, type AttackScenario } from '../types.js';
import { ending, poweredOff, readCanaryIntact } from '../helpers.js';
import { describeEsm, esmOutcome } from '../esm-outcome.js';

/** The image with a lockbox added that names `fingerprint` but holds `encryptedSymkey` (made for another key). */
function forgeLockbox(img: SystemImage, fingerprint: Uint8Array, encryptedSymkey: Uint8Array): SystemImage {
  const split = splitInitramfs(img.image.initramfs!)!;
  const blob = parseEsmBlob(split.blob);
  const next = Math.max(...[...lockboxes(blob)].map((l) => l.number)) + 1;
  const forged = applyEsmEdit(blob, { addLockboxes: [{ number: next, comment: 'this machine', fingerprint, encryptedSymkey }] });
  return { ...img, image: { ...img.image, initramfs: svmAdd(split.rest, forged, split.name.split('/').pop()!) } };
}

export const scenario: AttackScenario = {
  name: 'unauthorized-machine',
  number: 15,
  tried: "start the SVM on a machine its blob does not authorize: authorized for another machine, with a lockbox forged to name this machine, and for this machine's key before a rekey",
  async run(ctx) {
    const cs = ctx.canary('svm');
    const otherMachine = generateRsaKeyPair('').pub;
    const forOther = ctx.svm(cs, {}, [otherMachine]);
    const otherBox = findLockbox(parseEsmBlob(splitInitramfs(forOther.image.initramfs!)!.blob), readPublicKeyPem(otherMachine, 'other machine').fingerprint)!;
    const forged = forgeLockbox(forOther, readPublicKeyPem(ctx.machinePem, 'this machine').fingerprint, otherBox.encryptedSymkey);
    // A copy of this machine, rekeyed: an SVM authorized before the rekey.
    const root = mkdtempSync(join(tmpdir(), 'pef-attack-rekey-'));
    try {
      const clone = join(root, 'machine');
      cpSync(ctx.machineDir, clone, { recursive: true });
      const stale = ctx.svm(cs, {}, [ctx.machinePem]);
      rekeyMachine(clone);
      const rekeyed = new AttackContext(clone);

      const sys = ctx.boot({ canaries: [cs] });
      let a, b, control;
      try {
        a = sys.createVm('for-another-machine', forOther);
        b = sys.createVm('forged-lockbox', forged);
        control = sys.createVm('svm', ctx.svm(cs));
        await sys.runToEnd();
      } finally { sys.close(); }
      const re = rekeyed.boot({ canaries: [cs] });
      let c, afterRekey;
      try {
        c = re.createVm('authorized-before-rekey', stale);
        afterRekey = re.createVm('authorized-after-rekey', rekeyed.svm(cs));
        await re.runToEnd();
      } finally { re.close(); }

      const tries = [
        { what: 'authorized only for another machine', vm: a, esm: esmOutcome(sys.events, a) },
        { what: "a lockbox forged with this machine's fingerprint", vm: b, esm: esmOutcome(sys.events, b) },
        { what: "authorized for this machine's key before it was rekeyed", vm: c, esm: esmOutcome(re.events, c) },
      ];
      const leaked = tries.some((t) => t.esm.secure || readCanaryIntact(t.vm, cs)) || sys.watch.of(cs.id).length > 0 || re.watch.of(cs.id).length > 0;
      const ok = (vm: typeof control, events: typeof sys.events) => esmOutcome(events, vm).secure && poweredOff(vm) && readCanaryIntact(vm, cs);
      const controlOk = ok(control, sys.events) && ok(afterRekey, re.events);
      const evidence = `${tries.map((t) => `${t.what}: ${describeEsm(t.esm)}; the VM ${readCanaryIntact(t.vm, cs) ? 'READ THE CANARY' : ending(t.vm)}`).join('. ')}. ` +
        `Control: authorized for this machine's key it ${ok(control, sys.events) ? 'went secure and read its canary' : `did not boot (${describeEsm(esmOutcome(sys.events, control))}, ${ending(control)})`}; ` +
        `after the rekey, authorized for the new key it ${ok(afterRekey, re.events) ? 'went secure and read its canary' : `did not boot (${describeEsm(esmOutcome(re.events, afterRekey))}, ${ending(afterRekey)})`}`;
      return verdict(leaked, controlOk, evidence);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  },
};
