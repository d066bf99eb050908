// Every benchmark `pef bench` knows. Add one line per benchmark.
import type { BenchReport } from './report.js';
import { machineBench } from './machine.js';
import { esmBench } from './esm.js';

export interface BenchContext { json: boolean; log: (s: string) => void }
export interface Bench { description: string; run: (ctx: BenchContext) => Promise<BenchReport> }

export const BENCHES: Record<string, Bench> = {
  machine: machineBench,
  esm: esmBench,
};
