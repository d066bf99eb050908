// Every benchmark `pef bench` knows. Add one line per benchmark.
import type { BenchReport } from './report.js';
import { machineBench } from './machine.js';
import { esmBench } from './esm.js';
import { convertBench } from './convert.js';
import { uvBench } from './uv.js';
import { tpmBench } from './tpm.js';
import { runBench } from './run.js';
import { isaBench } from './isa.js';

/** `count` is the --count flag: the problem size for benchmarks that scale (e.g. ESM recipients). */
export interface BenchContext { json: boolean; log: (s: string) => void; count?: number }
export interface Bench { description: string; run: (ctx: BenchContext) => Promise<BenchReport> }

export const BENCHES: Record<string, Bench> = {
  machine: machineBench,
  esm: esmBench,
  convert: convertBench,
  uv: uvBench,
  tpm: tpmBench,
  run: runBench,
  isa: isaBench,
};
