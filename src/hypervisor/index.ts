// The hypervisor's public face: what the command layer wires to a booted machine.
export { Hypervisor, MMIO_BASE, type HypervisorOptions, type HypervisorSpy, type TpmRelay } from './kvm.js';
export { Vm, Vcpu, type VmConfig, type VmImage, type VmExit, type GuestPage, type SvmState } from './vm.js';
export { ImageDoesNotFit, layoutImage } from './loader.js';
export { RTAS_TOKENS } from './rtas.js';
export { runMachine, type RunResult } from './driver.js';
