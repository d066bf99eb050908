// Wiring of whole systems for the attack suite, tests and the command line: a machine
// directory booted with the real ultravisor and a given hypervisor, and images to run on it.
export { bootSystem, type BootSystemOptions, type System } from './boot.js';
export { sampleImage, SAMPLE_INIT, convertImage, loadImageDir, luksDisk, SMALL_KERNEL, SMALL_MEMORY, type SampleSpec, type ConvertSpec, type SystemImage } from './images.js';
