// 10. Swap two paged-out pages. When the ultravisor asks for a paged-out page back, the
// compromised hypervisor hands over the latest ciphertext of a different page of the same SVM
// (a genuine ciphertext, made by the ultravisor under the SVM's own key). Control: the same
// UV_PAGE_IN with the page's own ciphertext.

import type { AttackScenario } from '../types.js';
import { hex } from '../helpers.js';
import { pageInAttack } from '../page-tamper.js';

export const scenario: AttackScenario = {
  name: 'swap-paged-out-pages',
  number: 10,
  tried: "answer H_SVM_PAGE_IN for one page with another paged-out page's ciphertext of the same SVM",
  run: (ctx) => pageInAttack(ctx, {
    svms: ['svm'],
    describe: "another page's ciphertext",
    forge: ({ lpid, gpa, history }) => {
      const other = [...history.latest(lpid)].find(([g]) => g !== gpa);
      return other ? { what: `the page of gpa ${hex(other[0])}`, bytes: other[1] } : undefined;
    },
  }),
};
