// The attack framework itself: the canary watch finds a normal VM's canaries everywhere the
// hypervisor can look (so a clean result for an SVM means something), the probe kernel plants
// them and gets its registers back, a tamper really changes what the hypervisor does, and the
// suite fails on a leak, a failed control or a scenario that cannot run.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { UV } from '../../src/abi/ultracalls.js';
import { U, rc64 } from '../../src/abi/retcodes.js';
import { runAttacks, suitePassed, type AttackContext, type AttackScenario, type Tamper } from '../../src/attacks/index.js';
import { attackMachine, cleanup } from './helpers.js';

let ctx: AttackContext;
let dir: string;
before(async () => { ({ ctx, dir } = await attackMachine()); });
after(cleanup);

test('the watch sees a normal VM\'s canaries in its frames, its memory and its disk, and none of an SVM\'s', async () => {
  const cs = ctx.canary('svm'), cv = ctx.canary('vm');
  const sys = ctx.boot({ canaries: [cs, cv] });
  try {
    const svm = sys.createVm('svm', ctx.svm(cs));
    const vm = sys.createVm('vm', ctx.vm(cv), { secureGuest: false });
    await sys.runToEnd();
    assert.deepEqual([svm.exit, vm.exit], [{ kind: 'power-off' }, { kind: 'power-off' }]);
    const where = sys.watch.of('vm').map((s) => s.where);
    assert.ok(where.some((w) => /^register frame at 0xc00 \(vm\) R\d+$/.test(w)), 'register canaries in a frame');
    assert.ok(where.some((w) => w.startsWith('normal memory at ')), 'memory canary in normal memory');
    assert.ok(where.some((w) => w === "vm's root disk as the hypervisor holds it"), 'file canary on the plain disk');
    assert.deepEqual(sys.watch.of('svm'), []);
    assert.ok(sys.watch.seen.normalFrames > 0 && sys.watch.seen.frames > 0 && sys.watch.seen.tpmMessages > 0);
    // The probes ran in both, and the SVM's read its ESM attachment and got its registers back.
    assert.equal(cs.report.rc, 0);
    assert.equal(cs.report.attachmentRead, true);
    assert.deepEqual(cs.report.clobbered, []);
    assert.equal(cv.report.rc, 0);
    assert.ok(svm.console.includes('canary read') && vm.console.includes('canary read'));
  } finally {
    sys.close();
  }
});

test('a tamper changes what the hypervisor does: an ultracall answered by the attacker, entries seen', async () => {
  const cv = ctx.canary('vm');
  const entries = new Set<number>();
  const tamper: Tamper = {
    entry(_cpu, vector) { entries.add(vector); return undefined; },
    ucall(cpu, nr) {
      if (nr !== UV.UV_WRITE_PATE) return undefined;
      // eslint-disable-next-line require-yield
      return (function* () { cpu.regs.setGpr(3, rc64(U.U_PERMISSION)); })();
    },
  };
  const sys = ctx.boot({ canaries: [cv], tampers: [tamper] });
  try {
    const vm = sys.createVm('vm', ctx.vm(cv), { secureGuest: false });
    await sys.runToEnd();
    assert.deepEqual(vm.exit, { kind: 'crash', layer: 'ultravisor', message: 'UV_WRITE_PATE failed: U_PERMISSION' });
    assert.ok(entries.has(0x100));
  } finally {
    sys.close();
  }
});

test('the suite fails on a leak, on a failed control and on a scenario that cannot run', async () => {
  const fake = (number: number, run: AttackScenario['run']): AttackScenario => ({ name: `fake-${number}`, number, tried: 'nothing', run });
  const ok = fake(1, async () => ({ outcome: 'blocked', control: 'succeeded', evidence: 'fine' }));
  const reports = await runAttacks(dir, [
    ok,
    fake(2, async () => ({ outcome: 'leaked', control: 'succeeded', evidence: 'read it' })),
    fake(3, async () => ({ outcome: 'blocked', control: 'failed', evidence: 'vacuous' })),
    fake(4, async () => { throw new Error('no such thing'); }),
  ]);
  assert.deepEqual(reports.map((r) => [r.outcome, r.control]), [['blocked', 'succeeded'], ['leaked', 'succeeded'], ['blocked', 'failed'], ['blocked', 'failed']]);
  assert.equal(reports[3]!.evidence, 'the scenario could not run: no such thing');
  assert.equal(suitePassed(reports), false);
  assert.equal(suitePassed(reports.slice(0, 1)), true);
});
