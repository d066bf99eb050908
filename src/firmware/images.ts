// Firmware images of the model: each payload names the implementation it carries as one JSON
// line {stage, implementation, variant, version}, followed by filler bytes standing for the
// code (deterministic, derived from that line). A different variant is different bytes, so it
// measures differently: what trusted boot and the TPM's policy tell apart.

import { createCipheriv, createHash, type KeyObject } from 'node:crypto';
import { buildContainer } from './container.js';
import { vendorSigningKey } from './vendor-key.js';

export const STAGES = ['hostboot', 'opal', 'ultravisor', 'hypervisor'] as const;
export type Stage = (typeof STAGES)[number];
export const isStage = (s: string): s is Stage => (STAGES as readonly string[]).includes(s);

export interface ImageDescriptor {
  stage: Stage;
  implementation: string;
  variant: string;
  version: string;
}

export const IMPLEMENTATIONS: Record<Stage, string> = {
  hostboot: 'pef-model-hostboot',
  opal: 'pef-model-skiboot',
  ultravisor: 'pef-model-ultravisor',
  hypervisor: 'pef-model-kvm',
};

/** Variants the model's loaders know; 'rogue' is an ultravisor that tries to use the machine key for itself. */
export const KNOWN_VARIANTS: Record<Stage, string[]> = {
  hostboot: ['genuine'],
  opal: ['genuine'],
  ultravisor: ['genuine', 'rogue'],
  hypervisor: ['genuine', 'malicious'],
};

const SIZES: Record<Stage, number> = { hostboot: 96 << 10, opal: 192 << 10, ultravisor: 128 << 10, hypervisor: 256 << 10 };
export const DEFAULT_VERSION = '1.0.0';
const NAME_RE = /^[a-z][a-z0-9._-]{0,31}$/;

export class ImageFormatError extends Error {
  constructor(readonly offset: number, what: string) { super(`${what} (offset ${offset})`); this.name = 'ImageFormatError'; }
}

export function descriptor(stage: Stage, variant = 'genuine', version = DEFAULT_VERSION): ImageDescriptor {
  if (!NAME_RE.test(variant)) throw new RangeError(`variant '${variant}' must match ${NAME_RE}`);
  if (!/^[0-9A-Za-z.+-]{1,32}$/.test(version)) throw new RangeError(`version '${version}' is not a version string`);
  return { stage, implementation: IMPLEMENTATIONS[stage], variant, version };
}

export function buildPayload(d: ImageDescriptor): Uint8Array {
  const line = new TextEncoder().encode(JSON.stringify(d) + '\n');
  const size = Math.max(SIZES[d.stage], line.length);
  const seed = createHash('sha256').update(line).digest();
  const filler = createCipheriv('aes-256-ctr', seed, Buffer.alloc(16)).update(Buffer.alloc(size - line.length));
  const out = new Uint8Array(size);
  out.set(line, 0);
  out.set(filler, line.length);
  return out;
}

/** The descriptor line at the head of a payload; ImageFormatError if there is none. */
export function parsePayload(payload: Uint8Array): ImageDescriptor {
  const nl = payload.subarray(0, 1024).indexOf(0x0a);
  if (nl < 0) throw new ImageFormatError(0, 'no descriptor line in the first 1024 bytes');
  let j: unknown;
  try { j = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload.subarray(0, nl))); } catch {
    throw new ImageFormatError(0, 'the descriptor line is not JSON');
  }
  const o = j as Record<string, unknown>;
  if (!o || typeof o !== 'object' || typeof o.stage !== 'string' || !isStage(o.stage)) throw new ImageFormatError(0, 'descriptor: bad stage');
  for (const k of ['implementation', 'variant', 'version'] as const) {
    if (typeof o[k] !== 'string' || (o[k] as string).length === 0 || (o[k] as string).length > 64) throw new ImageFormatError(0, `descriptor: bad ${k}`);
  }
  return { stage: o.stage, implementation: o.implementation as string, variant: o.variant as string, version: o.version as string };
}

export interface BuildOptions {
  variant?: string;
  version?: string;
  /** Sign with this key (default: the model's vendor key); `null` builds an unsigned image. */
  key?: KeyObject | null;
}

export function buildImage(stage: Stage, opts: BuildOptions = {}): Uint8Array {
  const d = descriptor(stage, opts.variant, opts.version);
  const key = opts.key === undefined ? vendorSigningKey() : opts.key ?? undefined;
  return buildContainer(stage, buildPayload(d), key);
}
