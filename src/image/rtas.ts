// The model's RTAS image: the firmware's Run-Time Abstraction Services code that the
// hypervisor places in guest memory and whose SHA-512 the ESM blob's `rtas` digest covers.
// Real firmware ships its own binary (svm-tools hard-codes the SHA-512 of IBM's rtas.bin);
// the model stands for it with 64 KiB of fixed bytes: SHA-512 in counter mode,
// block i = SHA-512("pef model RTAS text" || u32be(i)), i = 0..1023, concatenated.
import { createHash } from 'node:crypto';

export const RTAS_SIZE = 64 * 1024;
export const RTAS_SEED = 'pef model RTAS text';

function build(): Uint8Array {
  const out = new Uint8Array(RTAS_SIZE);
  const seed = Buffer.from(RTAS_SEED, 'latin1');
  for (let i = 0; i < RTAS_SIZE / 64; i++) {
    const ctr = Buffer.alloc(4);
    ctr.writeUInt32BE(i);
    out.set(createHash('sha512').update(seed).update(ctr).digest(), i * 64);
  }
  return out;
}

export const RTAS_TEXT: Uint8Array = build();
