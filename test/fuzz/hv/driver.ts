// The state the fuzz's three parties share: the test (which hands out steps and reads the
// verdict), the SVM agent (which knows what it wrote) and the hostile hypervisor (which knows
// what it holds). The agent's expectations live here, outside machine memory, so the machine
// can be searched for the agent's secrets without finding the oracle.

import type { Machine } from '../../../src/hw/machine.js';
import type { Ultravisor } from '../../../src/ultravisor/index.js';
import type { Answer, Step } from './spec.js';
import { AGENT_GFN, AGENT_PAGES } from './spec.js';
import { PAGE_SIZE } from '../../../src/abi/pages.js';

/** Every 32-byte record of a private agent page starts with this: one search finds any leaked piece. */
export const SECRET_MAGIC = new TextEncoder().encode('PEFSECR!');
const PUBLIC_MAGIC = new TextEncoder().encode('PEFPUBL!');

/** What the SVM believes one of its pages holds. */
export interface AgentPage {
  /** private: only the SVM can see it; shared: the hypervisor may write it; unknown: a failed unshare left it either way. */
  kind: 'private' | 'shared' | 'unknown';
  /** Version of the private pattern it last wrote (0: a zero page). */
  version: number;
}

export type Phase = 'boot' | 'hv' | 'svm' | 'svm-check' | 'done';

/** 64 KiB of 32-byte records: magic, run, gfn, version, index, 8 pseudo-random bytes. Page 0 starts with the passphrase. */
export function privatePattern(run: number, gfn: number, version: number, passphrase?: Uint8Array): Uint8Array {
  const b = new Uint8Array(PAGE_SIZE);
  const dv = new DataView(b.buffer);
  let x = (run ^ Math.imul(gfn, 0x9e3779b1) ^ Math.imul(version, 0x85ebca6b)) >>> 0 || 1;
  for (let o = 0, i = 0; o < PAGE_SIZE; o += 32, i++) {
    b.set(SECRET_MAGIC, o);
    dv.setUint32(o + 8, run); dv.setUint32(o + 12, gfn); dv.setUint32(o + 16, version); dv.setUint32(o + 20, i);
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5; dv.setUint32(o + 24, x >>> 0);
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5; dv.setUint32(o + 28, x >>> 0);
  }
  if (passphrase) b.set(passphrase, 0);
  return b;
}

export function publicPattern(gfn: number, n: number): Uint8Array {
  const b = new Uint8Array(PAGE_SIZE);
  for (let o = 0; o < PAGE_SIZE; o += 16) { b.set(PUBLIC_MAGIC, o); new DataView(b.buffer).setUint32(o + 8, gfn); new DataView(b.buffer).setUint32(o + 12, n); }
  return b;
}

export class Driver {
  readonly run = (Math.random() * 0x7fffffff) >>> 0;
  machine!: Machine;
  uv!: Ultravisor;
  /** The SVM's partition, once it is secure. */
  lpid = -1;
  /** The hypervisor fuzzes this partition (set by the agent when it is ready). */
  active = false;
  phase: Phase = 'boot';
  step: Step | undefined;
  answers: Answer[] = [];
  /** The SVM's vCPU is gone (terminated or lost): steps run their hypervisor half only. */
  dead = false;
  readonly violations: string[] = [];
  readonly pages: AgentPage[] = Array.from({ length: AGENT_PAGES }, () => ({ kind: 'private', version: 0 }));
  readonly expected = new Map<number, Uint8Array>();
  #version = 0;
  /** The attached file the agent reads (and keeps in page 0), the blob's symmetric key: needles for memory searches. */
  passphrase: Uint8Array = new Uint8Array(0);
  symkey: Uint8Array = new Uint8Array(0);
  fingerprint: Uint8Array = new Uint8Array(0);
  kernelImage: Uint8Array = new Uint8Array(0);
  kbase = 0;
  esmFailure: string | undefined;
  /** Cookies of the SVM's doorbells seen so far (the old ones must never work again). */
  readonly cookies: bigint[] = [];
  /** Register values the agent put in every register the hypervisor must not see (R13..R30, VSRs). */
  canaries: bigint[] = [];
  /** Set by the agent's vector handler when an access was answered with a storage or machine-check interrupt. */
  accessFailed = false;
  readonly stats = new Map<string, number>();
  steps = 0;
  internalErrors = 0;

  /** The phase as it is now (another party may have moved it since this flow last looked). */
  now(): Phase { return this.phase; }

  count(what: string): void { this.stats.set(what, (this.stats.get(what) ?? 0) + 1); }
  violation(what: string): void {
    if (this.violations.length < 20) this.violations.push(`step ${this.steps}: ${what}`);
  }

  nextVersion(): number { return ++this.#version; }
  gfnOf(i: number): number { return AGENT_GFN + i; }

  /** What the page must read as now, if the agent knows. */
  expectedOf(i: number): Uint8Array | undefined {
    const p = this.pages[i]!;
    if (p.kind !== 'private') return undefined;
    if (p.version === 0) return ZERO_PAGE;
    let b = this.expected.get(i);
    if (!b) { b = privatePattern(this.run, this.gfnOf(i), p.version, i === 0 ? this.passphrase : undefined); this.expected.set(i, b); }
    return b;
  }
  setPage(i: number, kind: AgentPage['kind'], version = 0): void {
    this.pages[i] = { kind, version };
    this.expected.delete(i);
  }
}

export const ZERO_PAGE = new Uint8Array(PAGE_SIZE);
