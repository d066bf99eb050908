// `pef bench machine`: checked 8-byte loads per second through the CPU's memory path (guest
// translation, secure-memory check, frame access) against a raw typed-array loop reading the
// same number of bytes in the same run.
import type { Bench } from './index.js';
import { ratioMetric, opsPerSecond } from './report.js';
import { Machine } from '../hw/machine.js';
import { buildIdentityPartition } from '../hw/testing.js';

export const machineBench: Bench = {
  description: 'checked 8-byte loads through the CPU memory path vs a raw typed-array loop',
  async run() {
    const span = 1 << 20; // 1 MiB working set, 16 frames
    const m = new Machine({ cpus: 1, controllers: [{ size: 64 << 20, secure: 16 << 20 }] });
    const cpu = m.cpus[0]!;
    buildIdentityPartition(m, cpu, 1, span);
    const dst = new Uint32Array(2);
    let sink = 0;
    const raw32 = new Uint32Array(span / 4);
    // Alternate the two loops and keep each one's best round: the machine is shared and noisy.
    let checked = 0;
    let raw = 0;
    for (let round = 0; round < 5; round++) {
      checked = Math.max(checked, opsPerSecond((n) => {
        for (let i = 0; i < n; i++) {
          cpu.load64Into((i * 8) & (span - 8), dst, 0);
          sink ^= dst[0]!;
        }
      }, 150));
      raw = Math.max(raw, opsPerSecond((n) => {
        for (let i = 0; i < n; i++) {
          const j = ((i * 8) & (span - 8)) >>> 2;
          sink ^= raw32[j]! ^ raw32[j + 1]!;
        }
      }, 150));
    }
    if (sink === 0x12345678) process.stderr.write('');
    return {
      bench: 'machine',
      metrics: [ratioMetric('checked 8-byte guest loads', checked, 'loads/s', raw, 0.25, 'higher')],
      notes: ['limit: the same loop reading a Uint32Array directly (two 32-bit reads per 8 bytes)'],
    };
  },
};
