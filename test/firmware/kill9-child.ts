// The machine operations kill9-lib.ts interrupts, without the rest of the command line: the
// same library calls `pef machine create|rekey|duplicate-key` make.
import { createMachine, duplicateKey, rekeyMachine } from '../../src/firmware/index.js';

const [op, a, b] = process.argv.slice(2);
if (op === 'create') await createMachine(a!, { memory: 2 ** 30, secureMemory: 2 ** 28, cpus: 1, tpm: { kind: 'embedded' } });
else if (op === 'rekey') rekeyMachine(a!);
else if (op === 'duplicate-key') duplicateKey(a!, b!);
else throw new Error(`unknown operation ${op}`);
