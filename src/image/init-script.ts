// The /init of a model root disk: a tiny script language the guest kernel interprets instead of
// running a shell. First line exactly `#!pef-init`, then one command per line. Words are
// separated by spaces or tabs; a word that starts with `#` begins a comment that runs to the
// end of the line. There is no quoting: TEXT is the remaining words joined by one space.
//
//   echo TEXT...          print TEXT
//   cat PATH              print a file of the root disk
//   status                print whether the VM runs secure and the machine key's fingerprint
//   sha256 PATH           print the SHA-256 of a file, as sha256sum does
//   write PATH TEXT...    write TEXT (and a newline) to a file
//   exec PATH [ARGS...]   run a ppc64le ELF program of the root disk
//   exit CODE             stop with CODE (0..255)

export const INIT_SHEBANG = '#!pef-init';
/** Longest script the parser accepts, so that a hostile disk cannot make the kernel spin. */
export const INIT_MAX_BYTES = 64 * 1024;
export const INIT_MAX_LINE = 4096;

export type InitCommand =
  | { op: 'echo'; line: number; text: string }
  | { op: 'cat'; line: number; path: string }
  | { op: 'status'; line: number }
  | { op: 'sha256'; line: number; path: string }
  | { op: 'write'; line: number; path: string; text: string }
  | { op: 'exec'; line: number; path: string; args: string[] }
  | { op: 'exit'; line: number; code: number };

export type InitOp = InitCommand['op'];

export type InitScriptErrorCode = 'no-shebang' | 'too-long' | 'unknown-command' | 'arguments' | 'bad-path' | 'bad-code' | 'bad-text';

export class InitScriptError extends Error {
  /** `line` is 1-based; 0 when the problem is the script as a whole. */
  constructor(readonly code: InitScriptErrorCode, readonly line: number, detail: string) {
    super(line > 0 ? `init script line ${line}: ${detail}` : `init script: ${detail}`);
    this.name = 'InitScriptError';
  }
}

function words(line: string): string[] {
  const out: string[] = [];
  for (const w of line.split(/[ \t]+/)) {
    if (w === '') continue;
    if (w.startsWith('#')) break;
    out.push(w);
  }
  return out;
}

/** An absolute path with no empty, "." or ".." component. */
export function checkInitPath(path: string | undefined, line: number): string {
  if (path === undefined) throw new InitScriptError('arguments', line, 'a path is missing');
  if (!path.startsWith('/') || path === '/') throw new InitScriptError('bad-path', line, `'${path}' is not an absolute file path`);
  for (const part of path.slice(1).split('/')) {
    if (part === '' || part === '.' || part === '..') throw new InitScriptError('bad-path', line, `'${path}' has an empty, '.' or '..' component`);
  }
  return path;
}

function arity(op: string, w: string[], line: number, min: number, max: number): void {
  const n = w.length - 1;
  if (n < min || n > max) {
    const want = min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`;
    throw new InitScriptError('arguments', line, `'${op}' takes ${want} argument${want === '1' ? '' : 's'}, got ${n}`);
  }
}

/** Parse a script; commands come back in order with their 1-based line numbers. */
export function parseInitScript(text: string): InitCommand[] {
  if (text.length > INIT_MAX_BYTES) throw new InitScriptError('too-long', 0, `longer than ${INIT_MAX_BYTES} characters`);
  const lines = text.split('\n');
  if (lines[0]?.replace(/\r$/, '') !== INIT_SHEBANG) throw new InitScriptError('no-shebang', 1, `the first line must be exactly '${INIT_SHEBANG}'`);
  const out: InitCommand[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = i + 1;
    const raw = lines[i]!.replace(/\r$/, '');
    if (raw.length > INIT_MAX_LINE) throw new InitScriptError('too-long', line, `longer than ${INIT_MAX_LINE} characters`);
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u0008\u000b-\u001f\u007f]/.test(raw)) throw new InitScriptError('bad-text', line, 'control characters are not allowed');
    const w = words(raw);
    if (w.length === 0) continue;
    const op = w[0]!;
    switch (op) {
      case 'echo':
        out.push({ op, line, text: w.slice(1).join(' ') });
        break;
      case 'cat':
      case 'sha256':
        arity(op, w, line, 1, 1);
        out.push({ op, line, path: checkInitPath(w[1], line) });
        break;
      case 'status':
        arity(op, w, line, 0, 0);
        out.push({ op, line });
        break;
      case 'write':
        arity(op, w, line, 1, Infinity);
        out.push({ op, line, path: checkInitPath(w[1], line), text: w.slice(2).join(' ') });
        break;
      case 'exec':
        arity(op, w, line, 1, Infinity);
        out.push({ op, line, path: checkInitPath(w[1], line), args: w.slice(2) });
        break;
      case 'exit': {
        arity(op, w, line, 1, 1);
        const s = w[1]!;
        if (!/^[0-9]{1,3}$/.test(s) || Number(s) > 255) throw new InitScriptError('bad-code', line, `exit code '${s}' is not a number from 0 to 255`);
        out.push({ op, line, code: Number(s) });
        break;
      }
      default:
        throw new InitScriptError('unknown-command', line, `unknown command '${op.slice(0, 40)}' (have: echo, cat, status, sha256, write, exec, exit)`);
    }
  }
  return out;
}
