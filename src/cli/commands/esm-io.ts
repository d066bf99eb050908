// Shared plumbing of the ESM commands: reading inputs with one-line errors, mapping the
// library's errors to exit codes, unlocking a secret key, and collecting many public keys.
import { readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { CheckFailed, InputError } from '../../util/errors.js';
import { readInputFile } from '../../util/input-file.js';
import { getPassphrase } from '../../util/passphrase.js';
import { EsmCryptoError, EsmFormatError, EsmInputError, EsmRefused, loadSecretKey, parseEsmBlob, type EsmBlob } from '../../esm/index.js';
import { CpioError } from '../../image/cpio.js';

/** A file the user named, read whole: a regular file, or one line naming it (src/util/input-file.ts). */
export function readInput(path: string, what: string): Uint8Array {
  return readInputFile(path, what);
}

/** Run a command body, reporting library errors as one line with the right exit code. */
export async function esmAction(subject: string, fn: () => Promise<void> | void): Promise<void> {
  try {
    await fn();
  } catch (e) {
    if (e instanceof EsmFormatError || e instanceof CpioError) throw new InputError(subject, e.message);
    if (e instanceof EsmInputError) throw new InputError(e.subject, e.message.slice(e.subject.length + 2));
    if (e instanceof EsmCryptoError || e instanceof EsmRefused) throw new CheckFailed(e.message);
    throw e;
  }
}

export function openBlob(path: string): EsmBlob {
  const bytes = readInput(path, 'ESM blob');
  try { return parseEsmBlob(bytes); } catch (e) {
    if (e instanceof EsmFormatError) throw new InputError(path, e.message);
    throw e;
  }
}

export async function secretKey(path: string): Promise<KeyObject> {
  return loadSecretKey(readInput(path, 'secret key'), path, () => getPassphrase(`Enter passphrase for key '${path}': `, path));
}

/**
 * Public key files from a directory (every regular file, by name) or a list file (one path
 * per line, relative to the list; blank lines and # comments ignored).
 */
export function pubkeysFrom(source: string): string[] {
  let st;
  try { st = statSync(source); } catch { throw new InputError(source, 'no such file or directory'); }
  if (st.isDirectory()) {
    return readdirSync(source).sort().map((n) => join(source, n)).filter((p) => { try { return statSync(p).isFile(); } catch { return false; } });
  }
  const text = Buffer.from(readInput(source, 'key list')).toString('utf8');
  if (text.includes('-----BEGIN')) throw new InputError(source, 'is a key, not a list of key files (use -p for one key)');
  return text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('#')).map((l) => resolve(dirname(source), l));
}
