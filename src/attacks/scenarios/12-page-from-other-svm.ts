// 12. Feed in a page from another SVM. Two SVMs from the same image run on the machine, so
// their pages sit at the same guest addresses. When the ultravisor asks for one SVM's
// paged-out page back, the compromised hypervisor hands over the other SVM's latest
// ciphertext of the same guest page (or of any page, if that one never went out). Control:
// the same UV_PAGE_IN with the SVM's own ciphertext.

import type { AttackScenario } from '../types.js';
import { hex } from '../helpers.js';
import { pageInAttack } from '../page-tamper.js';

export const scenario: AttackScenario = {
  name: 'page-from-other-svm',
  number: 12,
  tried: "answer one SVM's H_SVM_PAGE_IN with another SVM's ciphertext of the same guest page",
  run: (ctx) => pageInAttack(ctx, {
    svms: ['svm-a', 'svm-b'],
    describe: "the other SVM's ciphertext",
    forge: ({ lpid, gpa, history }) => {
      for (const other of history.partitions().filter((l) => l !== lpid)) {
        const pages = history.latest(other);
        const same = pages.get(gpa);
        if (same) return { what: `lpid ${other}'s page at the same gpa`, bytes: same };
        const any = [...pages][0];
        if (any) return { what: `lpid ${other}'s page of gpa ${hex(any[0])}`, bytes: any[1] };
      }
      return undefined;
    },
  }),
};
