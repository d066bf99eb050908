// THE instruction table: every instruction the model knows, in one array. The decoder,
// disassembler, assembler, interpreter and the generated differential tests are built from it.
import type { InsnDef } from '../types.js';
import { FIXED } from './fixed.js';
import { LOADSTORE } from './loadstore.js';
import { BRANCH, SYSTEM } from './branch.js';
import { FLOAT } from './fp.js';
import { VMX } from './vmx.js';
import { VSX } from './vsx.js';

export const TABLE: readonly InsnDef[] = [...FIXED, ...LOADSTORE, ...BRANCH, ...SYSTEM, ...FLOAT, ...VMX, ...VSX];
