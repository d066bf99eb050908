// The one shape every benchmark reports: figures with the physical limit measured in the same
// run, the ratio to it, the aim and whether it was met.

export interface Metric {
  name: string;
  value: number;
  unit: string;
  /** The physical limit measured in the same run (same unit as value), or null if none applies. */
  limit: number | null;
  ratio: number | null;
  aim: string;
  better: 'higher' | 'lower';
  met: boolean;
}

export interface BenchReport { bench: string; metrics: Metric[]; notes?: string[] }

/** A metric whose aim is a ratio bound: ratio >= aimRatio when higher is better, <= otherwise. */
export function ratioMetric(name: string, value: number, unit: string, limit: number, aimRatio: number, better: 'higher' | 'lower'): Metric {
  const ratio = limit === 0 ? 0 : value / limit;
  const met = better === 'higher' ? ratio >= aimRatio : ratio <= aimRatio;
  return { name, value, unit, limit, ratio, aim: `${better === 'higher' ? '>=' : '<='} ${aimRatio}x`, better, met };
}

/** A metric with an absolute aim and no physical limit. */
export function plainMetric(name: string, value: number, unit: string, aim: string, met: boolean, better: 'higher' | 'lower' = 'higher'): Metric {
  return { name, value, unit, limit: null, ratio: null, aim, better, met };
}

export function formatReport(r: BenchReport): string {
  const fmt = (v: number | null) => v === null ? '-' : Math.abs(v) >= 1000 ? v.toExponential(3) : v.toFixed(3);
  const rows = r.metrics.map((m) => [m.name, `${fmt(m.value)} ${m.unit}`, m.limit === null ? '-' : `${fmt(m.limit)} ${m.unit}`, m.ratio === null ? '-' : m.ratio.toFixed(3), m.aim, m.met ? 'met' : 'NOT MET']);
  const head = ['metric', 'value', 'limit (same run)', 'ratio', 'aim', ''];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(w[i]!)).join('  ').trimEnd();
  return [`bench ${r.bench}`, line(head), ...rows.map(line), ...(r.notes ?? []).map((n) => `note: ${n}`)].join('\n') + '\n';
}

/** Time a function for at least `minMs`, returning operations per second. */
export function opsPerSecond(fn: (iterations: number) => void, minMs = 300, start = 1000): number {
  let n = start;
  for (;;) {
    const t0 = process.hrtime.bigint();
    fn(n);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (ms >= minMs) return (n * 1000) / ms;
    n = Math.max(n * 2, Math.ceil((n * minMs * 1.2) / Math.max(ms, 1)));
  }
}
