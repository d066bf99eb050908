// The ESM blob, as the ultravisor reads it: one place that names the format library's
// functions, so the coroutine in esm.ts reads like the steps of PEF.md section 5.
export {
  parseEsmBlob, findLockbox, decryptDigests, listFiles, decryptFile, fingerprintOfPem, splitInitramfs,
  type EsmBlob, type Digests,
} from '../esm/index.js';
