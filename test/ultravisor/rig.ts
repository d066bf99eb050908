// A whole small system for the ultravisor's tests: a machine with secure memory, the ultravisor
// installed as firmware would, the minimal hypervisor, and a VM image built in the test (a
// kernel, an initramfs, boot arguments, RTAS, a device tree, an ESM blob authorized for this
// machine's key). run() boots it: the VM starts as a normal VM and asks for secure mode.

import { createPrivateKey, randomBytes, type KeyObject } from 'node:crypto';
import { Machine, type Interpreter } from '../../src/hw/machine.js';
import { writeFdt, fdtNode, type FdtNode } from '../../src/fdt/index.js';
import { buildEsmBlobWithKey, computeDigests, generateRsaKeyPair, svmAdd, type Digests, type FileInput } from '../../src/esm/index.js';
import { RTAS_TEXT } from '../../src/image/rtas.js';
import { writeCpio, S_IFDIR, S_IFREG } from '../../src/image/cpio.js';
import { createUltravisor, type Ultravisor, type UltravisorInit } from '../../src/ultravisor/index.js';
import { MiniHv, type HvVm } from './mini-hv.js';
import { testKernel, testKernelImage, testUser, type GuestScripts } from './guest.js';
import { fakeHandoff, fakeTpm, fakeUnwrap } from './fake-tpm.js';

export const LAYOUT = {
  fdt: 0x100000, rtas: 0x200000, kbase: 0x400000, initrd: 0x800000, blob: 0xC00000,
} as const;
export const LPID = 5;

export interface KeyPair { pub: Uint8Array; priv: KeyObject }
const keyCache: KeyPair[] = [];
/** RSA-2048 key pairs, made once per test process. */
export function testKey(i: number): KeyPair {
  while (keyCache.length <= i) {
    const k = generateRsaKeyPair('');
    keyCache.push({ pub: k.pub, priv: createPrivateKey(Buffer.from(k.sec)) });
  }
  return keyCache[i]!;
}

const u64 = (n: number) => { const b = new Uint8Array(8); new DataView(b.buffer).setBigUint64(0, BigInt(n)); return b; };

export interface ImageOptions {
  kernelSize?: number;
  bootargs?: string;
  initramfs?: Uint8Array;
  /** Where the blob travels. */
  blobIn?: 'chosen' | 'initramfs';
  /** Keys authorized (indices of testKey); the first is the origin. Default [0]. */
  keys?: number[];
  files?: FileInput[];
  /** Change one input after the digests were sealed. */
  tamper?: 'kernel' | 'initramfs' | 'bootargs' | 'rtas' | 'blob';
  /** Files slipped into the ESM archive next to the blob (blobIn 'initramfs'): outside every digest. */
  smuggle?: { name: string; data: Uint8Array }[];
  vmMem?: number;
  /** Digests to seal instead of the ones computed (e.g. wrong on purpose). */
  digests?: (d: Digests) => Digests;
  /** Change the finished blob (before it is placed). */
  mutateBlob?: (blob: Uint8Array) => Uint8Array;
  /** Leave the blob out entirely. */
  noBlob?: boolean;
  /** More machines to authorize, by their public key PEM. */
  recipientPems?: Uint8Array[];
}

export interface Image {
  loads: { gpa: number; bytes: Uint8Array }[];
  kernel: Uint8Array;
  initrd: Uint8Array;
  blob: Uint8Array;
  bootargs: string;
  fdtBytes: Uint8Array;
  symkey: Uint8Array;
}

export function buildImage(o: ImageOptions = {}): Image {
  const kernel = testKernelImage(o.kernelSize ?? 256 * 1024);
  const bootargs = o.bootargs ?? 'console=hvc0 svm=on';
  const initramfs = o.initramfs ?? writeCpio([{ name: 'init', mode: S_IFREG | 0o755, data: new TextEncoder().encode('#!pef-init\necho hello\n') }]);
  const keys = o.keys ?? [0];
  let digests = computeDigests({ kernelImage: kernel, initramfs, bootargs, rtas: RTAS_TEXT });
  if (o.digests) digests = o.digests(digests);
  const built = buildEsmBlobWithKey({
    origin: { pubPem: testKey(keys[0]!).pub, comment: 'owner' },
    recipients: [...keys.slice(1).map((k) => ({ pubPem: testKey(k).pub, comment: `machine ${k}` })), ...(o.recipientPems ?? []).map((pubPem) => ({ pubPem }))],
    digests, files: o.files,
  });
  let blob = built.bytes;
  let kernelLoaded = kernel, initrdLoaded = initramfs, args = bootargs, rtas = RTAS_TEXT;
  if (o.tamper === 'kernel') { kernelLoaded = kernel.slice(); kernelLoaded[kernel.length - 1]! ^= 1; }
  if (o.tamper === 'initramfs') { initrdLoaded = initramfs.slice(); initrdLoaded[initrdLoaded.length - 1]! ^= 1; }
  if (o.tamper === 'bootargs') args = bootargs + ' init=/bin/sh';
  if (o.tamper === 'rtas') { rtas = RTAS_TEXT.slice(); rtas[100]! ^= 0x80; }
  if (o.tamper === 'blob') { blob = blob.slice(); new DataView(blob.buffer).setUint32(8, 0xffff); }
  if (o.mutateBlob) blob = o.mutateBlob(blob);
  const inInitrd = !o.noBlob && (o.blobIn ?? 'chosen') === 'initramfs';
  let initrd = inInitrd ? svmAdd(initrdLoaded, blob, 'esmb.dtb') : initrdLoaded;
  if (inInitrd && o.smuggle) {
    const dirs = ['.', 'opt', 'opt/ibm', 'opt/ibm/pef'].map((name) => ({ name, mode: S_IFDIR | 0o755, data: new Uint8Array(0) }));
    const archive = writeCpio([...dirs, { name: 'opt/ibm/pef/esmb.dtb', mode: S_IFREG | 0o644, data: blob },
      ...o.smuggle.map((f) => ({ name: f.name, mode: S_IFREG | 0o644, data: f.data }))]);
    initrd = new Uint8Array([...archive, ...initrdLoaded]);
  }
  const chosen: [string, Uint8Array | string | number][] = [
    ['bootargs', args],
    ['linux,initrd-start', u64(LAYOUT.initrd)], ['linux,initrd-end', u64(LAYOUT.initrd + initrd.length)],
  ];
  if (!inInitrd && !o.noBlob) chosen.push(['linux,esm-blob-start', u64(LAYOUT.blob)], ['linux,esm-blob-end', u64(LAYOUT.blob + blob.length)]);
  const vmMem = o.vmMem ?? 16 << 20;
  const root: FdtNode = fdtNode('', { '#address-cells': 2, '#size-cells': 2, compatible: 'ibm,pseries' }, [
    fdtNode('chosen', chosen),
    fdtNode('rtas', { 'linux,rtas-base': LAYOUT.rtas, 'rtas-size': RTAS_TEXT.length }),
    fdtNode('memory@0', [['device_type', 'memory'], ['reg', new Uint8Array([...u64(0), ...u64(vmMem)])]]),
  ]);
  const fdtBytes = writeFdt(root);
  const loads: { gpa: number; bytes: Uint8Array }[] = [
    { gpa: LAYOUT.kbase, bytes: kernelLoaded }, { gpa: LAYOUT.fdt, bytes: fdtBytes }, { gpa: LAYOUT.rtas, bytes: rtas },
    { gpa: LAYOUT.initrd, bytes: initrd },
  ];
  if (!inInitrd && !o.noBlob) loads.push({ gpa: LAYOUT.blob, bytes: blob });
  return { loads, kernel, initrd, blob, bootargs: args, fdtBytes, symkey: built.symkey };
}

export interface RigOptions extends ImageOptions {
  cpus?: number;
  memory?: number;
  secure?: number;
  /** Which test key is this machine's (default 0). */
  machineKey?: number;
  guest?: GuestScripts;
  uv?: Partial<UltravisorInit>;
  /** The auth value the TPM holds; the handoff gets the same unless `wrongAuth`. */
  wrongAuth?: boolean;
  /** Use this image instead of building one. */
  image?: Image;
  /** How many VMs (lpids LPID, LPID+1, ...) with the same image; the first is started. */
  vms?: number;
  /** A machine firmware booted, with its ultravisor installed (the rig adds the rest, then locks). */
  booted?: { machine: Machine; uv: Ultravisor; tpm: (cmd: Uint8Array) => Uint8Array };
  /** Run real machine code found in guest memory (the ISA interpreter), e.g. a test's own instructions. */
  interpreter?: Interpreter;
}

export interface Rig {
  m: Machine;
  uv: Ultravisor;
  hv: MiniHv;
  vm: HvVm;
  vms: HvVm[];
  image: Image;
  log: string[];
  out: Record<string, unknown>;
  run(maxSteps?: number): ReturnType<Machine['run']>;
}

export function makeRig(o: RigOptions = {}): Rig {
  const mk = testKey(o.machineKey ?? 0);
  const auth = new Uint8Array(randomBytes(16));
  const m = o.booted?.machine ?? new Machine({ cpus: o.cpus ?? 1, controllers: [{ size: o.memory ?? 128 << 20, secure: o.secure ?? 48 << 20 }] });
  let uv = o.booted?.uv;
  if (!uv) {
    uv = createUltravisor({
      variant: 'genuine',
      machineKey: { pem: mk.pub },
      handoff: fakeHandoff(o.wrongAuth ? new Uint8Array(randomBytes(16)) : auth),
      tpmUnwrap: fakeUnwrap,
      ...o.uv,
    });
    uv.install(m);
  }
  const hv = new MiniHv(m);
  hv.tpm = o.booted?.tpm ?? fakeTpm(mk.priv, auth);
  const log: string[] = [];
  const out: Record<string, unknown> = {};
  m.registerCode(testKernel(o.guest ?? {}, log, out));
  m.registerCode(testUser(o.guest ?? {}, log, out));
  const image = o.image ?? buildImage(o);
  const vms = Array.from({ length: o.vms ?? 1 }, (_, i) =>
    hv.addVm({ lpid: LPID + i, memSize: o.vmMem ?? 16 << 20, entry: LAYOUT.kbase, r3: BigInt(LAYOUT.fdt), load: image.loads }));
  hv.bootVm = LPID;
  if (o.interpreter) m.setInterpreter(o.interpreter);
  if (!o.booted) m.lockBoot();
  return { m, uv, hv, vm: vms[0]!, vms, image, log, out, run: (maxSteps = 2_000_000) => m.run({ maxSteps }) };
}
