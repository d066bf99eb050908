// Progress for long work: a bar on a terminal, plain lines otherwise (CI logs, pipes), nothing
// with --json (stdout then belongs to the JSON object).

import cliProgress from 'cli-progress';

export interface Progress {
  tick(n?: number): void;
  done(): void;
}

export function progress(label: string, total: number, opts: { quiet?: boolean; stream?: NodeJS.WriteStream } = {}): Progress {
  const stream = opts.stream ?? process.stderr;
  if (opts.quiet || total <= 0) return { tick() {}, done() {} };
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar({ format: `${label} [{bar}] {percentage}% {value}/{total} eta {eta_formatted}`, stream, hideCursor: true, clearOnComplete: false }, cliProgress.Presets.shades_classic);
    bar.start(total, 0);
    return { tick: (n = 1) => bar.increment(n), done: () => bar.stop() };
  }
  let value = 0;
  let lastPct = -1;
  return {
    tick(n = 1) {
      value += n;
      const pct = Math.floor((value * 10) / total) * 10;
      if (pct !== lastPct) { lastPct = pct; stream.write(`${label}: ${pct}% (${value}/${total})\n`); }
    },
    done() { if (lastPct !== 100) stream.write(`${label}: 100% (${total}/${total})\n`); },
  };
}
