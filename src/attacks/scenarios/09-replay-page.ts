// 9. Replay an old paged-out page. The SVM's memory test writes more memory than the
// hypervisor lets it keep secure, so its pages go out (UV_PAGE_OUT, encrypted) and come back
// (H_SVM_PAGE_IN) more than once. When a page that went out twice is asked for, the
// compromised hypervisor hands over its first ciphertext instead of its latest. Control: the
// same UV_PAGE_IN with the latest ciphertext.

import type { AttackScenario } from '../types.js';
import { pageInAttack } from '../page-tamper.js';

export const scenario: AttackScenario = {
  name: 'replay-paged-out-page',
  number: 9,
  tried: 'answer H_SVM_PAGE_IN with an older ciphertext of the same page (UV_PAGE_OUT gave out several)',
  run: (ctx) => pageInAttack(ctx, {
    svms: ['svm'],
    describe: 'an older ciphertext of the page',
    forge: ({ lpid, gpa, honest, history }) => {
      const v = history.versions(lpid, gpa);
      if (v.length < 2 || !Buffer.from(v[v.length - 1]!).equals(Buffer.from(honest))) return undefined;
      return { what: `version ${v.length - 1} of ${v.length}`, bytes: v[v.length - 2]! };
    },
  }),
};
