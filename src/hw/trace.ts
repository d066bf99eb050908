// One trace stream for every transition in the machine: interrupts, sc, rfid/hrfid/urfid,
// ultracalls, hypercalls, page-state changes, refused accesses. Tests assert on it, the CLI
// writes it as JSON lines (--trace), and nothing in it may carry secret data.

export interface TraceEvent {
  /** e.g. 'interrupt', 'sc', 'rfid', 'hrfid', 'urfid', 'mtmsrd', 'refused', 'ucall', 'hcall', 'page', 'spr', 'esm', 'console' */
  kind: string;
  cpu?: number;
  from?: string;
  to?: string;
  vector?: number;
  /** Registers of interest, as hex strings or numbers. */
  regs?: Record<string, string | number>;
  [more: string]: unknown;
}

export type TraceSink = (e: TraceEvent) => void;

export class Trace {
  private sinks: TraceSink[] = [];
  private seq = 0;
  /** Counts per kind, kept even with no sink attached (cheap, useful for benchmarks and tests). */
  readonly counts = new Map<string, number>();

  get active(): boolean { return this.sinks.length > 0; }

  /** Count an event nobody listens to without building it (hot paths check `active` first). */
  tally(kind: string): void {
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
  }

  emit(e: TraceEvent): void {
    this.counts.set(e.kind, (this.counts.get(e.kind) ?? 0) + 1);
    if (this.sinks.length === 0) return;
    const ev = { seq: this.seq++, ...e };
    for (const s of this.sinks) s(ev);
  }

  /** Attach a sink; returns a function that detaches it. */
  subscribe(sink: TraceSink): () => void {
    this.sinks.push(sink);
    return () => { this.sinks = this.sinks.filter((s) => s !== sink); };
  }

  /** Record events into an array until the returned stop() is called. */
  record(filter?: (e: TraceEvent) => boolean): { events: TraceEvent[]; stop: () => void } {
    const events: TraceEvent[] = [];
    const stop = this.subscribe((e) => { if (!filter || filter(e)) events.push(e); });
    return { events, stop };
  }
}

export const hex = (v: bigint | number): string => '0x' + v.toString(16);
