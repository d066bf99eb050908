// The guest: code kinds the machine recognizes in guest memory. The command layer registers
// them (machine.registerCode) before boot locks the machine.
import type { CodeFactory } from '../hw/cpu/software.js';
import { modelKernel } from './kernel.js';
import { initScriptProgram } from './init-program.js';

export { Kernel, modelKernel } from './kernel.js';
export { initScriptProgram } from './init-program.js';

export const GUEST_CODE: readonly CodeFactory[] = [modelKernel, initScriptProgram];
