// Every malformed DTB surfaces as one FdtError carrying the byte offset (from the start of
// the blob) where the problem was found and a stable code a caller can switch on.

export type FdtErrorCode =
  | 'truncated'        // the blob or a block ends before the data it must hold
  | 'bad-magic'
  | 'bad-version'
  | 'bad-layout'       // header offsets or sizes outside the blob, misaligned, overlapping
  | 'bad-tag'          // an unknown or misplaced structure token
  | 'bad-name'         // a node or property name that is unterminated or outside its block
  | 'too-deep'
  | 'bad-structure'    // unbalanced nodes, missing FDT_END, properties after subnodes
  | 'bad-value'        // a writer input that cannot be encoded
  | 'not-found';

export class FdtError extends Error {
  constructor(readonly code: FdtErrorCode, readonly offset: number, detail: string) {
    super(`DTB offset ${offset} (0x${offset.toString(16)}): ${detail}`);
    this.name = 'FdtError';
  }
}
