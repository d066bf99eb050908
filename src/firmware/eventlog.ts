// Trusted boot's event log: every extend firmware makes, in order, with what was measured. It
// replays to the PCR values (replay()), and exports in the TCG PC Client crypto-agile format
// (a Spec ID header event, then TCG_PCR_EVENT2 records, little-endian), which standard tools
// such as tpm2_eventlog read.

import { createHash } from 'node:crypto';
import { ALG, replayPcr, toHex } from '../tpm/index.js';

export const EV = {
  POST_CODE: 0x1,
  NO_ACTION: 0x3,
  SEPARATOR: 0x4,
  S_CRTM_CONTENTS: 0x7,
  PLATFORM_CONFIG_FLAGS: 0xa,
  IPL: 0xd,
  NONHOST_CODE: 0xf,
} as const;

export const EV_NAME: Record<number, string> = Object.fromEntries(Object.entries(EV).map(([k, v]) => [v, `EV_${k}`]));

export interface LogEvent {
  pcr: number;
  type: number;
  /** SHA-256 of what was measured (the stage payload, or `data` for configuration events). */
  digest: Uint8Array;
  /** The event data recorded in the log (a description, or the measured bytes themselves). */
  data: Uint8Array;
}

export class EventLog {
  readonly events: LogEvent[] = [];

  add(pcr: number, type: number, digest: Uint8Array, data: string | Uint8Array): LogEvent {
    const e = { pcr, type, digest: new Uint8Array(digest), data: typeof data === 'string' ? new TextEncoder().encode(data) : new Uint8Array(data) };
    this.events.push(e);
    return e;
  }

  /** An event whose digest is the hash of its own data (configuration, separators). */
  addData(pcr: number, type: number, data: string | Uint8Array): LogEvent {
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    return this.add(pcr, type, new Uint8Array(createHash('sha256').update(bytes).digest()), bytes);
  }

  /** The PCR values the log implies (PCRs it does not touch are omitted). */
  replay(): Map<number, Uint8Array> {
    const by = new Map<number, Uint8Array[]>();
    for (const e of this.events) {
      const l = by.get(e.pcr) ?? [];
      l.push(e.digest);
      by.set(e.pcr, l);
    }
    return new Map([...by].map(([pcr, ds]) => [pcr, replayPcr(ALG.SHA256, ds)]));
  }

  toJSON(): { pcr: number; type: string; digest: string; event: string }[] {
    return this.events.map((e) => ({ pcr: e.pcr, type: EV_NAME[e.type] ?? `0x${e.type.toString(16)}`, digest: toHex(e.digest), event: new TextDecoder().decode(e.data) }));
  }

  /** TCG PC Client Platform Firmware Profile, crypto-agile log (SHA-256 bank only). */
  toTcg(): Uint8Array {
    const parts: Buffer[] = [];
    const spec = Buffer.alloc(16 + 4 + 4 + 4 + 4 + 1);
    let o = spec.write('Spec ID Event03\0', 0, 'latin1');
    o = spec.writeUInt32LE(0, o); // platform class
    spec[o++] = 0; spec[o++] = 2; spec[o++] = 0; spec[o++] = 2; // minor, major, errata, uintn size (64-bit)
    o = spec.writeUInt32LE(1, o); // one algorithm
    o = spec.writeUInt16LE(ALG.SHA256, o);
    o = spec.writeUInt16LE(32, o);
    spec[o++] = 0; // no vendor info
    const head = Buffer.alloc(4 + 4 + 20 + 4);
    head.writeUInt32LE(0, 0);
    head.writeUInt32LE(EV.NO_ACTION, 4);
    head.writeUInt32LE(o, 28);
    parts.push(head, spec.subarray(0, o));
    for (const e of this.events) {
      const h = Buffer.alloc(4 + 4 + 4 + 2 + 32 + 4);
      h.writeUInt32LE(e.pcr, 0);
      h.writeUInt32LE(e.type, 4);
      h.writeUInt32LE(1, 8);
      h.writeUInt16LE(ALG.SHA256, 12);
      Buffer.from(e.digest).copy(h, 14);
      h.writeUInt32LE(e.data.length, 46);
      parts.push(h, Buffer.from(e.data));
    }
    return new Uint8Array(Buffer.concat(parts));
  }
}
