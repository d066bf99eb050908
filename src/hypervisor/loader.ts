// Loading an image into a VM's memory as a boot loader would (kexec, petitboot, QEMU's
// spapr): the kernel's loadable image at its physical address, the initramfs and RTAS after
// it, then the flattened device tree the kernel is entered with (R3). Everything is 64 KiB
// aligned; the device tree gets room to grow, because the ultravisor writes an updated tree
// back in place during UV_ESM.

import { fdtNode, writeFdt, type FdtNode } from '../fdt/index.js';
import { FRAME_SIZE } from '../hw/memory.js';
import type { VmImage } from './vm.js';
import type { MmioDevice } from './virtio/mmio.js';
import { RTAS_TOKENS } from './rtas.js';

export const FDT_ROOM = 2 * FRAME_SIZE;
/** Where the hvc console's vty lives in /vdevice (the PAPR unit address QEMU uses). */
export const VTY_REG = 0x30000000;

export interface GuestLayout {
  kbase: number; kernelEnd: number; entry: number;
  initrdStart: number; initrdEnd: number;
  rtasBase: number; rtasSize: number;
  fdt: number;
}

const align = (v: number) => Math.ceil(v / FRAME_SIZE) * FRAME_SIZE;

export class ImageDoesNotFit extends Error {
  constructor(what: string) { super(what); this.name = 'ImageDoesNotFit'; }
}

export function layoutImage(memBytes: number, image: VmImage): GuestLayout {
  const kbase = image.kernel.paddr;
  if (kbase % FRAME_SIZE !== 0) throw new ImageDoesNotFit(`kernel load address 0x${kbase.toString(16)} is not 64 KiB aligned`);
  const kernelEnd = kbase + image.kernel.bytes.length;
  const initrdStart = align(kernelEnd);
  const initrdEnd = initrdStart + (image.initramfs?.length ?? 0);
  const rtasBase = align(initrdEnd);
  const rtasSize = image.rtas.length;
  const fdt = align(rtasBase + rtasSize);
  if (fdt + FDT_ROOM > memBytes) throw new ImageDoesNotFit(`kernel, initramfs, RTAS and device tree need ${Math.ceil((fdt + FDT_ROOM) / 2 ** 20)} MiB, the VM has ${memBytes / 2 ** 20} MiB`);
  return { kbase, kernelEnd, entry: image.kernel.entry, initrdStart, initrdEnd, rtasBase, rtasSize, fdt };
}

const cells = (...v: number[]) => {
  const b = new Uint8Array(4 * v.length);
  const dv = new DataView(b.buffer);
  v.forEach((x, i) => dv.setUint32(4 * i, x >>> 0));
  return b;
};
const u64 = (v: number) => cells(Math.floor(v / 0x100000000), v % 0x100000000);
const strings = (...s: string[]) => new TextEncoder().encode(s.map((x) => x + '\0').join(''));

export function buildGuestFdt(opts: { memBytes: number; bootargs: string; layout: GuestLayout; devices: readonly MmioDevice[]; vcpus: number; hasInitrd: boolean }): Uint8Array {
  const { layout } = opts;
  const chosen: [string, Uint8Array | string | number][] = [['bootargs', opts.bootargs]];
  if (opts.hasInitrd) chosen.push(['linux,initrd-start', u64(layout.initrdStart)], ['linux,initrd-end', u64(layout.initrdEnd)]);
  chosen.push(['stdout-path', `/vdevice/vty@${VTY_REG.toString(16)}`]);
  const cpus: FdtNode[] = [];
  for (let i = 0; i < opts.vcpus; i++) {
    cpus.push(fdtNode(`PowerPC,POWER9@${i}`, [['device_type', 'cpu'], ['reg', i], ['ibm,ppc-interrupt-server#s', i], ['timebase-frequency', 512000000], ['64-bit', new Uint8Array(0)]]));
  }
  const rtas: [string, Uint8Array | string | number][] = [
    ['linux,rtas-base', layout.rtasBase], ['linux,rtas-entry', layout.rtasBase], ['rtas-size', layout.rtasSize],
    ['ibm,hypertas-functions', strings('hcall-term', 'hcall-rtas', 'hcall-splpar', 'hcall-random', 'hcall-vpa')],
    ['ibm,extended-os-term', new Uint8Array(0)],
    ...Object.entries(RTAS_TOKENS).map(([k, v]) => [k, v] as [string, number]),
  ];
  const devices = opts.devices.map((d) => fdtNode(`virtio_mmio@${d.base.toString(16)}`, [
    ['compatible', 'virtio,mmio'], ['reg', cells(Math.floor(d.base / 0x100000000), d.base % 0x100000000, 0, d.size)],
  ]));
  const root = fdtNode('', [
    ['#address-cells', 2], ['#size-cells', 2], ['compatible', strings('ibm,pef-model', 'qemu,pseries')],
    ['model', 'IBM pSeries (pef model)'], ['device_type', 'chrp'],
  ], [
    fdtNode('chosen', chosen),
    fdtNode('memory@0', [['device_type', 'memory'], ['reg', cells(0, 0, Math.floor(opts.memBytes / 0x100000000), opts.memBytes % 0x100000000)]]),
    fdtNode('cpus', [['#address-cells', 1], ['#size-cells', 0]], cpus),
    fdtNode('rtas', rtas),
    fdtNode('vdevice', [['#address-cells', 1], ['#size-cells', 0], ['compatible', 'IBM,vdevice'], ['device_type', 'vdevice']], [
      fdtNode(`vty@${VTY_REG.toString(16)}`, [['compatible', 'hvterm1'], ['device_type', 'serial'], ['reg', VTY_REG]]),
    ]),
    ...devices,
  ]);
  const blob = writeFdt(root);
  if (blob.length > FDT_ROOM / 2) throw new ImageDoesNotFit(`device tree of ${blob.length} bytes is too large`);
  return blob;
}
