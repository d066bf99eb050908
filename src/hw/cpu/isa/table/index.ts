// THE instruction table: every instruction the model knows, in one array. The decoder,
// disassembler, assembler, interpreter and the generated differential tests are built from it.
import { jitOf, type InsnDef } from '../types.js';
import { FIXED } from './fixed.js';
import { LOADSTORE } from './loadstore.js';
import { BRANCH, SYSTEM } from './branch.js';
import { FLOAT } from './fp.js';
import { VMX } from './vmx.js';
import { VSX } from './vsx.js';
import { JIT } from './jit.js';

const ALL: InsnDef[] = [...FIXED, ...LOADSTORE, ...BRANCH, ...SYSTEM, ...FLOAT, ...VMX, ...VSX];
for (const d of ALL) { const j = JIT[d.mnem] ?? jitOf(d.exec); if (j) d.jit = j; }

export const TABLE: readonly InsnDef[] = ALL;
