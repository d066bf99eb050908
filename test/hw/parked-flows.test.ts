// A flow whose `sc` comes back only on failure (a hypervisor's UV_RETURN) is parked on its
// thread instead of being kept among the flows that will be resumed. The machine bounds those
// (MAX_SUSPENDED_PER_SPACE, dropping the oldest), so before parking, a few thousand
// UV_RETURNs pushed out a flow that was legitimately waiting. These tests run that scenario
// with and without `errorOnly` and check the failure path still resumes the parked flow.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Machine, MAX_SUSPENDED_PER_SPACE } from '../../src/hw/machine.js';
import type { Cpu } from '../../src/hw/cpu/cpu.js';
import type { Flow } from '../../src/hw/cpu/software.js';
import { buildIdentityPartition } from '../../src/hw/testing.js';
import { SPR } from '../../src/abi/spr.js';

const S = (n: string): number => SPR[n]!;
/** The toy ultravisor's calls. */
const WAIT = 0xA0n, RESUME = 0xB0n, REFUSE = 0xC0n, WAKE = 0xD0n;
/** The guest's requests to the toy hypervisor. */
const START = 1n, ROUND_TRIP = 2n, FAILING = 3n, FINISH = 4n;

function run(errorOnly: boolean, roundTrips: number): { log: string[]; stop: string } {
  const m = new Machine({ cpus: 1, controllers: [{ size: 64 << 20, secure: 16 << 20 }] });
  const cpu = m.cpus[0]!;
  const log: string[] = [];
  let waiter: { pc: bigint; msr: bigint } | undefined;
  m.installUltravisor({
    name: 'toy-uv',
    *enter(c: Cpu): Flow {
      const op = c.regs.getGpr(3);
      // The hypervisor passes where the guest resumes in R4/R5.
      const toGuest = () => { c.mtspr(S('USRR0'), c.regs.getGpr(4)); c.mtspr(S('USRR1'), c.regs.getGpr(5)); };
      if (op === WAIT) { waiter = { pc: c.mfspr(S('USRR0')), msr: c.mfspr(S('USRR1')) }; toGuest(); }
      else if (op === RESUME) toGuest();
      else if (op === REFUSE) c.regs.setGpr(3, 0xFFFF_FFFF_FFFF_FFFFn);
      else if (op === WAKE && waiter) { c.mtspr(S('USRR0'), waiter.pc); c.mtspr(S('USRR1'), waiter.msr); }
      yield { op: 'urfid' };
    },
  });
  m.installHypervisor({
    name: 'toy-hv',
    *enter(c: Cpu, pc: number): Flow {
      if (pc !== 0xC00) { log.push(`hypervisor entered at 0x${pc.toString(16)}`); yield { op: 'stop', reason: 'lost' }; return; }
      const req = c.regs.getGpr(3);
      const guestPc = c.mfspr(S('SRR0')), guestMsr = c.mfspr(S('SRR1'));
      c.regs.setGpr(4, guestPc);
      c.regs.setGpr(5, guestMsr);
      if (req === START) {
        // This flow waits: the ultravisor resumes it only at FINISH.
        c.regs.setGpr(3, WAIT);
        yield { op: 'sc', lev: 2 };
        log.push('waiter resumed');
        yield { op: 'stop', reason: 'done' };
        return;
      }
      c.regs.setGpr(3, req === ROUND_TRIP ? RESUME : req === FAILING ? REFUSE : WAKE);
      yield { op: 'sc', lev: 2, errorOnly: req !== FINISH && errorOnly };
      log.push(`call came back with r3=0x${c.regs.getGpr(3).toString(16)}`);
      c.mtspr(S('HSRR0'), guestPc);
      c.mtspr(S('HSRR1'), guestMsr);
      yield { op: 'hrfid' };
    },
  });
  m.registerCode({
    magic: 'TOY-GUEST-KERNEL',
    create: () => ({
      name: 'toy-guest',
      *enter(c: Cpu): Flow {
        const call = (r: bigint) => { c.regs.setGpr(3, r); return { op: 'sc', lev: 1 } as const; };
        yield call(START);
        for (let i = 0; i < roundTrips; i++) yield call(ROUND_TRIP);
        yield call(FAILING);
        yield call(FINISH);
        log.push('guest resumed after FINISH');
        yield { op: 'stop', reason: 'guest' };
      },
    }),
  });
  const { frames } = buildIdentityPartition(m, cpu, 1, 1 << 20);
  m.host.write(frames[1]!, new TextEncoder().encode('\x40\x00\x00\x48TOY-GUEST-KERNEL'));
  m.lockBoot();
  cpu.regs.pc = 0x10000;
  m.run({ maxSteps: 10 * roundTrips + 100 });
  return { log, stop: cpu.stopReason };
}

const MANY = MAX_SUSPENDED_PER_SPACE + 100;

test('errorOnly: a refused call resumes the parked flow with the error, and a waiting flow outlives thousands of successful ones', () => {
  const r = run(true, MANY);
  assert.deepEqual(r.log, ['call came back with r3=0xffffffffffffffff', 'waiter resumed']);
  assert.equal(r.stop, 'done');
});

test('control: the same successful calls kept as ordinary suspended flows push the waiting flow out', () => {
  const r = run(false, MANY);
  assert.equal(r.log[0], 'call came back with r3=0xffffffffffffffff');
  assert.ok(!r.log.includes('waiter resumed'), r.log.join('; '));
  // The wake-up lands on the waiter's address, where no flow waits any more: the hypervisor
  // is entered afresh there instead of resuming it.
  assert.match(r.log.at(-1)!, /^hypervisor entered at 0x7f0[0-9a-f]+$/);
  assert.equal(r.stop, 'lost');
});

test('control: with few calls nothing is pushed out either way', () => {
  assert.deepEqual(run(false, 10).log, ['call came back with r3=0xffffffffffffffff', 'waiter resumed']);
});
