// The ESM library's failures, each one type: a malformed blob (with the byte offset), a key
// that cannot be used, a decryption that does not authenticate, and a refused operation.

export class EsmFormatError extends Error {
  constructor(readonly offset: number, detail: string) {
    super(`ESM blob offset ${offset} (0x${offset.toString(16)}): ${detail}`);
    this.name = 'EsmFormatError';
  }
}

/** An input (named by `subject`: a file, a name, a flag) that cannot be used as given. */
export class EsmInputError extends Error {
  constructor(readonly subject: string, detail: string) {
    super(`${subject}: ${detail}`);
    this.name = 'EsmInputError';
  }
}

/** A key file that cannot be read as the key it should be (format, passphrase, type). */
export class EsmKeyError extends EsmInputError {
  constructor(subject: string, detail: string) {
    super(subject, detail);
    this.name = 'EsmKeyError';
  }
}

/** Authentication failed: the wrong key, or the blob was changed. */
export class EsmCryptoError extends Error {
  constructor(detail: string) {
    super(detail);
    this.name = 'EsmCryptoError';
  }
}

/** An operation the blob's rules refuse: revoking the origin, a duplicate name, an unknown key. */
export class EsmRefused extends Error {
  constructor(detail: string) {
    super(detail);
    this.name = 'EsmRefused';
  }
}
