// swtpm over TCP, asynchronously: for callers living in an event loop. Commands are sent in
// one write each with Nagle off; "try again" warnings (0x922, 0x908, 0x90A) are retried;
// the reset sequence is Shutdown(CLEAR), then CMD_INIT on the control port.

import net from 'node:net';
import { RETRY_CODES } from '../constants.js';
import { TpmTransportError } from '../errors.js';
import { CTRL, CTRL_ANSWER_SIZE, ctrlCommand, FrameReader, type SwtpmEndpoint } from './swtpm-protocol.js';
import type { AsyncTpmTransport } from './transport.js';

const MAX_RETRIES = 100;
export const SHUTDOWN_CLEAR_CMD = new Uint8Array([0x80, 0x01, 0, 0, 0, 12, 0, 0, 1, 0x45, 0, 0]);
export const STARTUP_CLEAR_CMD = new Uint8Array([0x80, 0x01, 0, 0, 0, 12, 0, 0, 1, 0x44, 0, 0]);
export const rcOf = (rsp: Uint8Array): number => new DataView(rsp.buffer, rsp.byteOffset, rsp.byteLength).getUint32(6);

class Conn {
  private sock: net.Socket | undefined;
  private frames = new FrameReader();
  private waiter: ((err?: Error) => void) | undefined;
  private closedErr: Error | undefined;

  constructor(private readonly host: string, private readonly port: number, private readonly what: string, private readonly timeoutMs: number) {}

  private async open(): Promise<net.Socket> {
    if (this.sock && !this.closedErr) return this.sock;
    this.frames = new FrameReader();
    this.closedErr = undefined;
    const s = await new Promise<net.Socket>((resolve, reject) => {
      const c = net.connect({ host: this.host, port: this.port });
      c.once('connect', () => { c.off('error', reject); resolve(c); });
      c.once('error', (e) => reject(new TpmTransportError(`swtpm ${this.what} ${this.host}:${this.port}: ${e.message}`)));
    });
    s.setNoDelay(true);
    s.on('data', (d) => { this.frames.push(d); this.waiter?.(); });
    const onEnd = (e?: Error) => {
      this.closedErr = new TpmTransportError(`swtpm ${this.what} ${this.host}:${this.port}: connection closed${e ? ` (${e.message})` : ''}`);
      this.waiter?.(this.closedErr);
    };
    s.on('error', onEnd);
    s.on('close', () => onEnd());
    this.sock = s;
    return s;
  }

  async exchange(bytes: Uint8Array, cut: (f: FrameReader) => Buffer | undefined): Promise<Uint8Array> {
    const s = await this.open();
    s.write(bytes);
    return await new Promise<Uint8Array>((resolve, reject) => {
      const timer = setTimeout(() => { this.waiter = undefined; reject(new TpmTransportError(`swtpm ${this.what}: no answer in ${this.timeoutMs} ms`)); }, this.timeoutMs);
      const check = (err?: Error) => {
        try {
          const f = cut(this.frames);
          if (f) { clearTimeout(timer); this.waiter = undefined; resolve(new Uint8Array(f)); return; }
        } catch (e) { clearTimeout(timer); this.waiter = undefined; reject(e); return; }
        if (err) { clearTimeout(timer); this.waiter = undefined; reject(err); }
      };
      this.waiter = check;
      check(this.closedErr);
    });
  }

  close(): void { this.sock?.destroy(); this.sock = undefined; }
}

export class SwtpmAsync implements AsyncTpmTransport {
  private readonly data: Conn;
  private readonly ctrl: Conn;

  constructor(readonly endpoint: SwtpmEndpoint, timeoutMs = 60_000) {
    this.data = new Conn(endpoint.host, endpoint.port, 'data port', timeoutMs);
    this.ctrl = new Conn(endpoint.host, endpoint.ctrlPort, 'control port', 5_000);
  }

  async transmitAsync(command: Uint8Array): Promise<Uint8Array> {
    for (let i = 0; ; i++) {
      const rsp = await this.data.exchange(command, (f) => f.tpmResponse());
      if (!RETRY_CODES.has(rcOf(rsp)) || i >= MAX_RETRIES) return rsp;
    }
  }

  /** A control-port command; returns its u32 result and payload. */
  async control(cmd: number, payload?: Uint8Array): Promise<{ result: number; payload: Uint8Array }> {
    const n = CTRL_ANSWER_SIZE[cmd];
    if (n === undefined) throw new RangeError(`control command ${cmd} has no fixed answer size`);
    const a = await this.ctrl.exchange(ctrlCommand(cmd, payload), (f) => f.fixed(n));
    return { result: new DataView(a.buffer, a.byteOffset).getUint32(0), payload: a.subarray(4) };
  }

  async powerCycle(): Promise<void> {
    await this.transmitAsync(SHUTDOWN_CLEAR_CMD);
    const r = await this.control(CTRL.INIT, new Uint8Array(4));
    if (r.result !== 0) throw new TpmTransportError(`swtpm CMD_INIT answered ${r.result}`);
  }

  /** An orderly end: TPM2_Shutdown(CLEAR), then CMD_SHUTDOWN (swtpm saves its state and exits). */
  async shutdown(): Promise<void> {
    await this.transmitAsync(SHUTDOWN_CLEAR_CMD);
    const r = await this.control(CTRL.SHUTDOWN);
    if (r.result !== 0) throw new TpmTransportError(`swtpm CMD_SHUTDOWN answered ${r.result}`);
    this.close();
  }

  close(): void { this.data.close(); this.ctrl.close(); }
}
