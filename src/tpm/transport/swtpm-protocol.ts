// swtpm's two TCP ports (TPM.md): the data port in raw mode carries TPM2 commands as they are,
// each in ONE socket write (swtpm 0.7.1 parses the rest of a split command as a new one); the
// control port carries `u32 command | payload` and answers `u32 result | payload`.

import { InputError } from '../../util/errors.js';

export const CTRL = { GET_CAPABILITY: 1, INIT: 2, SHUTDOWN: 3, SET_LOCALITY: 5, STOP: 0xe, GET_INFO: 0x12 } as const;

/** Bytes each control answer has (all the model uses are fixed-size). */
export const CTRL_ANSWER_SIZE: Record<number, number> = { [CTRL.GET_CAPABILITY]: 8, [CTRL.INIT]: 4, [CTRL.SHUTDOWN]: 4, [CTRL.SET_LOCALITY]: 4, [CTRL.STOP]: 4 };

export interface SwtpmEndpoint { host: string; port: number; ctrlPort: number }

/** "HOST:PORT[:CTRLPORT]" (the control port defaults to PORT+1, as swtpm's examples use). */
export function parseEndpoint(s: string, subject = 'swtpm endpoint'): SwtpmEndpoint {
  const m = /^([A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\]):(\d{1,5})(?::(\d{1,5}))?$/.exec(s.trim());
  if (!m) throw new InputError(subject, `'${s}' is not HOST:PORT[:CTRLPORT]`);
  const port = Number(m[2]);
  const ctrlPort = m[3] ? Number(m[3]) : port + 1;
  for (const p of [port, ctrlPort]) if (!(p >= 1 && p <= 65535)) throw new InputError(subject, `port ${p} is out of range`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port, ctrlPort };
}

export const formatEndpoint = (e: SwtpmEndpoint): string => `${e.host}:${e.port}:${e.ctrlPort}`;

export function ctrlCommand(cmd: number, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const b = new Uint8Array(4 + payload.length);
  new DataView(b.buffer).setUint32(0, cmd);
  b.set(payload, 4);
  return b;
}

/** Accumulates socket bytes and cuts out whole TPM responses (10-byte header, then the rest). */
export class FrameReader {
  private chunks: Buffer[] = [];
  private have = 0;

  push(b: Buffer): void { this.chunks.push(b); this.have += b.length; }

  private peek(n: number): Buffer {
    if (this.chunks.length > 1) { this.chunks = [Buffer.concat(this.chunks)]; }
    return this.chunks[0]!.subarray(0, n);
  }

  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    const out = Buffer.from(all.subarray(0, n));
    const rest = all.subarray(n);
    this.chunks = rest.length ? [rest] : [];
    this.have -= n;
    return out;
  }

  /** A whole TPM response if one has arrived. */
  tpmResponse(): Buffer | undefined {
    if (this.have < 10) return undefined;
    const size = this.peek(6).readUInt32BE(2);
    if (size < 10 || size > 1 << 20) throw new Error(`swtpm sent a response size of ${size}`);
    return this.have >= size ? this.take(size) : undefined;
  }

  /** A control answer of n bytes if it has arrived. */
  fixed(n: number): Buffer | undefined { return this.have >= n ? this.take(n) : undefined; }
}
