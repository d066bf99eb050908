// Overcommit: two SVMs that together need more secure memory than the machine has. The second
// one's UV_ESM makes the ultravisor give pages of the first back to the hypervisor
// (H_SVM_PAGE_OUT, encrypted); when the first runs again and touches them (HDSI), they come
// back verified, and pages of the second go out to make room.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UV } from '../../src/abi/ultracalls.js';
import { GPF, PAGE_SIZE } from '../../src/abi/pages.js';
import { SPR } from '../../src/abi/spr.js';
import { retrying } from '../../src/hw/cpu/retry.js';
import { call } from './guest.js';
import { LPID, makeRig } from './rig.js';

const START = 0x500000, PAGES = 48;
const pattern = (lpid: number, i: number) => new Uint8Array(PAGE_SIZE).fill((lpid * 31 + i) & 0xff);

test('secure memory overcommitted between two SVMs: pages go out encrypted and come back verified on the next fault', () => {
  const r = makeRig({
    vms: 2, secure: 18 << 20,
    guest: {
      *secure(g) {
        const lpid = g.cpu.lpid;
        for (let i = 0; i < PAGES; i++) yield* retrying(() => g.cpu.write(START + i * PAGE_SIZE, pattern(lpid, i)));
        if (lpid === LPID) {
          yield* call(g.cpu, 1, 0xF0A1); // let the second VM run (it becomes secure meanwhile)
          g.out.pagedOutBeforeReading = [...Array(PAGES).keys()].filter((i) => r.uv.svms.get(lpid)!.stateOf(START / PAGE_SIZE + i) === GPF.PAGEDOUT).length;
        } else {
          yield* call(g.cpu, 1, 0xF0A2); // give the thread back to the first
        }
        let bad = 0;
        for (let i = 0; i < PAGES; i++) {
          const got = yield* retrying(() => g.cpu.read(START + i * PAGE_SIZE, PAGE_SIZE));
          if (!Buffer.from(got).equals(Buffer.from(pattern(lpid, i)))) bad++;
        }
        g.out[`bad${lpid}`] = bad;
      },
    },
  });
  const [vm1, vm2] = r.vms;
  let cookie1 = 0n;
  r.hv.hooks.hcall = function* (c) {
    if (c.nr === 0xF0A1) {
      cookie1 = c.cpu.regs.getGpr(31);
      r.hv.enterVm(c.cpu, vm2!);
      yield { op: 'hrfid' };
    }
    if (c.nr === 0xF0A2) {
      c.cpu.mtspr(SPR.LPIDR!, BigInt(vm1!.lpid));
      c.cpu.regs.setGpr(0, 0n);
      c.cpu.regs.setGpr(31, cookie1);
      c.cpu.mtspr(SPR.HSRR0!, cookie1);
      yield* r.hv.ucall(c.cpu, UV.UV_RETURN);
      yield { op: 'stop', reason: 'UV_RETURN refused' };
    }
    return undefined;
  };
  const rec = r.m.trace.record((e) => e.kind === 'uv-overcommit' || (e.kind === 'uv-page' && e.was === 'PAGEDOUT' && e.now === 'SECURE'));
  r.run(20_000_000);
  rec.stop();
  assert.equal(r.uv.svms.get(vm2!.lpid)?.state, 'secure', r.log.join('\n'));
  assert.equal(r.out.bad5, 0, r.log.join('\n') + r.hv.log.join('\n'));
  assert.ok((r.out.pagedOutBeforeReading as number) > 0, 'some of the first SVM\'s pages were out when it resumed');
  const out = (l: number) => rec.events.filter((e) => e.kind === 'uv-overcommit' && e.lpid === l).length;
  const back = (l: number) => rec.events.filter((e) => e.kind === 'uv-page' && e.lpid === l).length;
  assert.ok(out(vm1!.lpid) > 0 && back(vm1!.lpid) > 0, 'the first SVM gave pages back and took them back');
  assert.ok(out(vm2!.lpid) > 0, 'then the second SVM gave pages back to make room');
  assert.ok(r.uv.frames.free >= 0);
  // The hypervisor only ever held ciphertext of those pages.
  assert.deepEqual(r.m.findInAllMemory(pattern(vm1!.lpid, 3)).filter((h) => !h.secure), []);
});
