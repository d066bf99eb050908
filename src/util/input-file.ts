// Files the user names (on the command line, in a configuration, in an image directory) are
// read whole, so each must be a regular file. Anything else is refused as one line naming it:
// a device such as /dev/zero never ends, and a FIFO with no writer blocks open() for reading
// forever. So the path is checked with stat before it is opened; it is then opened without
// blocking and checked again on the open descriptor, so a file swapped in between is refused too.
import { closeSync, constants, fstatSync, openSync, readFileSync, statSync, type Stats } from 'node:fs';
import { InputError } from './errors.js';

function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  return 'a special file';
}

function refuse(path: string, st: Stats, what: string): InputError {
  return new InputError(path, `is ${kindOf(st)}; the ${what} must be a regular file`);
}

function failed(path: string, e: unknown, what: string): InputError {
  const code = (e as NodeJS.ErrnoException).code;
  return new InputError(path, code === 'ENOENT' ? `no such ${what}` : `cannot read the ${what} (${code ?? (e as Error).message})`);
}

/** Stat `path` (following symbolic links): an existing regular file, or an InputError naming it. */
export function checkInputFile(path: string, what: string): void {
  let st: Stats;
  try { st = statSync(path); } catch (e) { throw failed(path, e, what); }
  if (!st.isFile()) throw refuse(path, st, what);
}

/** Open a regular file the user named, for reading: its descriptor (the caller closes it) and size. */
export function openInputFile(path: string, what: string): { fd: number; size: number } {
  checkInputFile(path, what);
  let fd: number;
  try { fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0)); } catch (e) { throw failed(path, e, what); }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw refuse(path, st, what);
    return { fd, size: st.size };
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

/** The whole of a regular file the user named; anything else is an InputError naming it. */
export function readInputFile(path: string, what: string): Uint8Array {
  const { fd } = openInputFile(path, what);
  try {
    return new Uint8Array(readFileSync(fd));
  } catch (e) {
    throw failed(path, e, what);
  } finally {
    closeSync(fd);
  }
}
