// 11. Flip a bit in a paged-out page. When the ultravisor asks for a paged-out page back, the
// compromised hypervisor hands over the page's own latest ciphertext with one bit flipped (a
// different bit each time). Control: the same UV_PAGE_IN with the ciphertext unaltered.

import { randomInt } from 'node:crypto';
import type { AttackScenario } from '../types.js';
import { pageInAttack } from '../page-tamper.js';

export const scenario: AttackScenario = {
  name: 'flip-bit-paged-out-page',
  number: 11,
  tried: 'answer H_SVM_PAGE_IN with the right ciphertext but one bit flipped',
  run: (ctx) => pageInAttack(ctx, {
    svms: ['svm'],
    describe: 'one bit of the ciphertext flipped',
    forge: ({ honest }) => {
      const bytes = honest.slice();
      const at = randomInt(bytes.length * 8);
      bytes[at >> 3]! ^= 1 << (at & 7);
      return { what: `bit ${at & 7} of byte ${at >> 3}`, bytes };
    },
  }),
};
