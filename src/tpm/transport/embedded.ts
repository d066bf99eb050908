// The embedded TPM as a device: the in-process engine, its power line, and its NV state saved
// through a callback (the machine directory writes it atomically). With autosave, every
// command that changed NV is saved before its response is returned, as a TPM commits NV
// before answering; without it the owner saves at a point of its choosing (a transaction).

import { TpmEngine } from '../engine/index.js';
import { CC, ST, SU } from '../constants.js';
import type { TpmDevice } from './transport.js';

export interface EmbeddedOptions {
  /** Initial NV state (a state file's bytes); a new TPM is manufactured if absent. */
  state?: Uint8Array;
  /** Called with the new NV state whenever it must be persisted. */
  save?: (state: Uint8Array) => void;
  autosave?: boolean;
}

const SHUTDOWN_CLEAR = (() => {
  const b = new Uint8Array(12);
  const dv = new DataView(b.buffer);
  dv.setUint16(0, ST.NO_SESSIONS); dv.setUint32(2, 12); dv.setUint32(6, CC.Shutdown); dv.setUint16(10, SU.CLEAR);
  return b;
})();

export class EmbeddedTpm implements TpmDevice {
  readonly kind = 'embedded' as const;
  readonly description = 'embedded';
  readonly engine: TpmEngine;
  autosave: boolean;
  readonly #save: ((s: Uint8Array) => void) | undefined;
  #closed = false;

  constructor(opts: EmbeddedOptions = {}) {
    this.engine = new TpmEngine({ state: opts.state });
    this.#save = opts.save;
    this.autosave = opts.autosave ?? true;
  }

  transmit(command: Uint8Array): Uint8Array {
    if (this.#closed) throw new Error('the embedded TPM is closed');
    const r = this.engine.execute(command);
    if (this.autosave && this.engine.nvDirty) this.saveState();
    return r;
  }

  powerCycle(): void {
    if (this.engine.started) this.engine.execute(SHUTDOWN_CLEAR);
    this.engine.powerCycle();
    if (this.autosave) this.saveState();
  }

  exportState(): Uint8Array { return this.engine.exportState(); }

  saveState(): void {
    if (!this.engine.nvDirty || !this.#save) return;
    this.#save(this.engine.exportState());
    this.engine.nvDirty = false;
  }

  close(): void {
    if (this.#closed) return;
    if (this.autosave) this.saveState();
    this.#closed = true;
  }
}
