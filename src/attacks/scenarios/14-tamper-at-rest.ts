// 14. Tamper with the SVM's kernel, initramfs, boot arguments or ESM blob at rest. A rogue
// administrator edits the image files before the VM starts: one byte of the kernel, one byte
// of the original initramfs (after the ESM archive), an extra boot argument (init=/bin/sh),
// one byte of the blob's sealed digests. The ultravisor hashes what is in memory against the
// digests only the machine's TPM can unlock, so each must fail UV_ESM with its reason and never
// run secure or reach the disk passphrase. A file added to the ESM archive itself lies outside
// what the digests cover (svm-tools' layout), and the kernel would unpack it into the SVM's root:
// the ultravisor refuses an ESM archive holding anything but the blob and its directories.
// Control: the untouched image boots secure and reads its canary file from the encrypted disk.

import { digestsItem, parseEsmBlob, splitInitramfs } from '../../esm/index.js';
import { S_IFREG, writeCpio } from '../../image/cpio.js';
import type { SystemImage } from '../../system/index.js';
import { verdict, type AttackScenario } from '../types.js';
import { ending, poweredOff, readCanaryIntact } from '../helpers.js';
import { describeEsm, esmOutcome } from '../esm-outcome.js';

type Edit = (img: SystemImage) => SystemImage;

const flip = (b: Uint8Array, at: number): Uint8Array => { const c = b.slice(); c[at]! ^= 0x01; return c; };

/** The offset of the blob's sealed digests inside the initramfs it travels in. */
function digestsOffset(initramfs: Uint8Array): number {
  const split = splitInitramfs(initramfs);
  if (!split) throw new Error('the SVM image carries no ESM archive');
  const sealed = digestsItem(parseEsmBlob(split.blob));
  if (!sealed) throw new Error('the blob has no digests');
  const ct = sealed.sealed.ciphertext;
  return ct.byteOffset - initramfs.byteOffset + (ct.length >> 1);
}

/** The offset of the original initramfs (what the digest covers), after the ESM archive. */
function originalOffset(initramfs: Uint8Array): number {
  const split = splitInitramfs(initramfs);
  if (!split) throw new Error('the SVM image carries no ESM archive');
  return split.rest.byteOffset - initramfs.byteOffset;
}

/** The same ESM archive with one more file in it, before the original initramfs. */
function withExtraFile(initramfs: Uint8Array): Uint8Array {
  const split = splitInitramfs(initramfs)!;
  const archive = writeCpio([
    { name: split.name, mode: S_IFREG | 0o644, data: split.blob },
    { name: INJECTED.slice(1), mode: S_IFREG | 0o755, data: new TextEncoder().encode('#!pef-init\necho not what the owner sealed\n') },
  ]);
  const out = new Uint8Array(archive.length + split.rest.length);
  out.set(archive);
  out.set(split.rest, archive.length);
  return out;
}
const INJECTED = '/sbin/injected-by-admin';

const EDITS: [string, Edit][] = [
  ['kernel byte', (i) => ({ ...i, image: { ...i.image, kernel: { ...i.image.kernel, bytes: flip(i.image.kernel.bytes, i.image.kernel.bytes.length - 100) } } })],
  ['initramfs byte', (i) => ({ ...i, image: { ...i.image, initramfs: flip(i.image.initramfs!, originalOffset(i.image.initramfs!) + 200) } })],
  ['boot arguments', (i) => ({ ...i, image: { ...i.image, bootargs: `${i.image.bootargs} init=/bin/sh` } })],
  ['sealed digests', (i) => ({ ...i, image: { ...i.image, initramfs: flip(i.image.initramfs!, digestsOffset(i.image.initramfs!)) } })],
  [`a file in the ESM archive (${INJECTED})`, (i) => ({ ...i, image: { ...i.image, initramfs: withExtraFile(i.image.initramfs!) } })],
];

export const scenario: AttackScenario = {
  name: 'tamper-image-at-rest',
  number: 14,
  tried: "change one byte of the SVM's kernel, of its initramfs and of its blob's sealed digests, add a boot argument, or add a file to its ESM archive, before it starts",
  async run(ctx) {
    const cs = ctx.canary('svm');
    const sys = ctx.boot({ canaries: [cs] });
    try {
      const honest = ctx.svm(cs);
      const tampered = EDITS.map(([what, edit], k) => ({ what, vm: sys.createVm(`tampered-${k}`, edit(honest)) }));
      const control = sys.createVm('svm', honest);
      await sys.runToEnd();
      const results = tampered.map(({ what, vm }) => ({ what, vm, esm: esmOutcome(sys.events, vm), canary: readCanaryIntact(vm, cs) }));
      const leaked = results.some((r) => r.esm.secure || r.canary) || sys.watch.of(cs.id).length > 0;
      const c = esmOutcome(sys.events, control);
      const controlOk = c.secure && poweredOff(control) && readCanaryIntact(control, cs);
      const evidence = `${results.map((r) => `${r.what}: ${describeEsm(r.esm)}; the VM ${r.canary ? 'READ THE CANARY' : ending(r.vm)}`).join('. ')}. ` +
        `${sys.watch.of(cs.id).length ? `canary seen: ${sys.watch.of(cs.id)[0]!.where}` : 'the canary in nothing the hypervisor holds'}. ` +
        `Control: the untouched image ${c.secure ? 'went secure' : describeEsm(c)}, ${readCanaryIntact(control, cs) ? 'read its canary intact' : 'did not read its canary'} and ${ending(control)}`;
      return verdict(leaked, controlOk, evidence);
    } finally {
      sys.close();
    }
  },
};
