// Resource limits (getrlimit/prlimit64). glibc asks for RLIMIT_STACK at start-up (to size
// thread stacks) and programs ask for RLIMIT_NOFILE. Limits are what Linux gives init, except
// where the model's kernel has a fixed size: the stack it gives a program (which does not grow)
// and its 1024 descriptors.

import type { Cpu } from '../hw/cpu/cpu.js';
import type { Op } from '../hw/cpu/software.js';
import * as mem from './mem.js';
import type { Process } from './process.js';
import { EINVAL } from './fs/vfs.js';

const INF = 0xffffffffffffffffn;
const RLIM_NLIMITS = 16;
export const RLIMIT_STACK = 3, RLIMIT_CORE = 4, RLIMIT_NOFILE = 7, RLIMIT_MEMLOCK = 8, RLIMIT_MSGQUEUE = 12, RLIMIT_NICE = 13, RLIMIT_RTPRIO = 14;
/** The descriptor table's size (Linux's fs.nr_open, which bounds RLIMIT_NOFILE). */
export const NR_OPEN = 1024;
const ESRCH = 3, EPERM = 1;

export function defaultRlimits(stackBytes: number): [bigint, bigint][] {
  const l = Array.from({ length: RLIM_NLIMITS }, (): [bigint, bigint] => [INF, INF]);
  l[RLIMIT_STACK] = [BigInt(stackBytes), BigInt(stackBytes)];
  l[RLIMIT_CORE] = [0n, INF];
  l[RLIMIT_NOFILE] = [BigInt(NR_OPEN), BigInt(NR_OPEN)];
  l[RLIMIT_MEMLOCK] = [8n << 20n, 8n << 20n];
  l[RLIMIT_MSGQUEUE] = [819200n, 819200n];
  l[RLIMIT_NICE] = [0n, 0n];
  l[RLIMIT_RTPRIO] = [0n, 0n];
  return l;
}

/** The soft limit of RLIMIT_NOFILE as a descriptor count. */
export function fdLimit(p: Process): number {
  return Number(p.rlimits[RLIMIT_NOFILE]![0] > BigInt(NR_OPEN) ? BigInt(NR_OPEN) : p.rlimits[RLIMIT_NOFILE]![0]);
}

/** prlimit64(pid, resource, new, old); ugetrlimit is prlimit64(0, resource, NULL, old). Returns 0 or -errno. */
export function* prlimit(cpu: Cpu, p: Process, pid: number, resource: number, newAt: number, oldAt: number): Generator<Op, number, void> {
  if (pid !== 0 && pid !== p.pid) return -ESRCH;
  if (resource < 0 || resource >= RLIM_NLIMITS) return -EINVAL;
  let next: [bigint, bigint] | undefined;
  if (newAt) {
    const b = yield* mem.read(cpu, newAt, 16);
    const dv = new DataView(b.buffer);
    next = [dv.getBigUint64(0, true), dv.getBigUint64(8, true)];
    if (next[0] > next[1]) return -EINVAL;
    if (resource === RLIMIT_NOFILE && next[1] > BigInt(NR_OPEN)) return -EPERM;
  }
  if (oldAt) {
    const b = new Uint8Array(16);
    const dv = new DataView(b.buffer);
    const [cur, max] = p.rlimits[resource]!;
    dv.setBigUint64(0, cur, true);
    dv.setBigUint64(8, max, true);
    yield* mem.write(cpu, oldAt, b);
  }
  if (next) p.rlimits[resource] = next;
  return 0;
}
