// Mutated ESM blobs through the ultravisor's path (open, find a lockbox, digests, files):
// each either works or fails with the library's typed errors; nothing else escapes.
import { randomBytes } from 'node:crypto';
import * as esm from '../../src/esm/index.js';
import { mutate, rng } from '../fdt/fuzz-core.js';

export function esmSeeds(): { blobs: Uint8Array[]; fps: Uint8Array[]; symkey: Uint8Array } {
  const symkey = new Uint8Array(randomBytes(32));
  const fps: Uint8Array[] = [];
  const entries: esm.LockboxEntry[] = [];
  for (let i = 5; i >= 0; i--) { const fp = new Uint8Array(randomBytes(32)); fps.push(fp); entries.push({ number: i, comment: `m${i}`, fingerprint: fp, encryptedSymkey: randomBytes(64) }); }
  const base = esm.parseEsmBlob(esm.applyEsmEdit(esm.parseEsmBlob(esm.emptyEsmBlob()), { addLockboxes: entries }));
  let full = esm.parseEsmBlob(esm.setDigests(base, symkey, esm.computeDigests({ kernelImage: new Uint8Array(9), initramfs: new Uint8Array(3), bootargs: 'a' })));
  full = esm.parseEsmBlob(esm.applyEsmEdit(full, {}));
  const { attachFile } = esm;
  const withFile = attachFile(full, symkey, { name: 'rootd', data: new Uint8Array(20) });
  return { blobs: [base.bytes, withFile, esm.applyEsmEdit(esm.parseEsmBlob(withFile), { index: false })], fps, symkey };
}

const allowed = (e: unknown) => e instanceof esm.EsmFormatError || e instanceof esm.EsmCryptoError;

export function fuzzEsm(runs: number, seed: number): { opened: number; found: number; failed: number } {
  const { blobs, fps, symkey } = esmSeeds();
  const next = rng(seed);
  const r = { opened: 0, found: 0, failed: 0 };
  for (let i = 0; i < runs; i++) {
    const input = mutate(blobs[next() % blobs.length]!, next);
    try {
      const blob = esm.parseEsmBlob(input);
      r.opened++;
      const lb = esm.findLockbox(blob, fps[next() % fps.length]!);
      if (lb) r.found++;
      esm.listFiles(blob);
      if (esm.digestsItem(blob)) esm.decryptDigests(blob, symkey);
      if (esm.listFiles(blob).length) esm.decryptFile(blob, symkey, 'rootd');
    } catch (e) {
      if (!allowed(e)) throw new Error(`run ${i} (seed ${seed}): ${String(e)}`, { cause: e });
      r.failed++;
    }
  }
  return r;
}
