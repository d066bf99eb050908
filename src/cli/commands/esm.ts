// `pef esm ...`: svm-tools' esm commands with its names, flags and meaning, byte compatible
// with its blobs, plus many-key authorize, the lookup index, and --json where they report.
import { basename } from 'node:path';
import { Command, Option } from 'commander';
import { parse as parseYaml } from 'yaml';
import type { CliContext } from '../main.js';
import { InputError, UsageError } from '../../util/errors.js';
import { checkInputFile } from '../../util/input-file.js';
import { writeFileAtomic } from '../../util/atomic.js';
import { getPassphrase } from '../../util/passphrase.js';
import { progress } from '../../util/progress.js';
import {
  attachFile, authorizeRecipients, computeDigests, createEsmBlob, decryptFile, detachFile, digestsItem, generateRsaKeyPair,
  listFiles, lockboxes, openWithSecretKey, parseEsmBlob, revokeRecipients, setDigests, type EsmBlob, type Recipient,
} from '../../esm/index.js';
import { esmAction, openBlob, pubkeysFrom, readInput, secretKey } from './esm-io.js';
import { runEsmBench } from '../../bench/esm.js';
import { formatReport } from '../../bench/report.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function examples(cmd: Command, ...lines: string[]): Command {
  return cmd.addHelpText('after', `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}`);
}

async function askNewPassphrase(): Promise<string> {
  if (process.env.PEF_PASSPHRASE !== undefined) return process.env.PEF_PASSPHRASE;
  const a = await getPassphrase('Enter passphrase (empty for no passphrase): ');
  const b = await getPassphrase('Enter same passphrase again: ');
  if (a !== b) throw new InputError('passphrase', 'passphrases do not match');
  return a;
}

function report(ctx: CliContext, json: boolean | undefined, obj: Record<string, unknown>, text: string): void {
  if (json) ctx.out(JSON.stringify(obj) + '\n');
  else if (text) ctx.out(text.endsWith('\n') ? text : text + '\n');
}

/** svm-tools' display lines, then the digest: origin first, then recipients by number, then files. */
function display(blob: EsmBlob, ctx: CliContext, json: boolean | undefined): void {
  const all = [...lockboxes(blob)].sort((a, b) => a.number - b.number);
  const files = listFiles(blob);
  const digest = digestsItem(blob);
  if (json) {
    ctx.out(JSON.stringify({
      lockboxes: all.map((l) => ({ name: l.name, role: l.number === 0 ? 'origin' : 'recipient', fingerprint: hex(l.fingerprint), comment: l.comment })),
      files: files.map((f) => ({ name: f.name, comment: f.comment, size: f.size, source: f.source })),
      digest: digest ? { comment: digest.comment } : null,
      index: blob.index ? { entries: blob.index.header.count } : blob.indexProblem ? { stale: blob.indexProblem } : null,
      size: blob.view.header.totalsize,
    }) + '\n');
    return;
  }
  const lines: string[] = [];
  const flush = () => { if (lines.length) { ctx.out(lines.join('\n') + '\n'); lines.length = 0; } };
  for (const l of all) {
    lines.push(`${l.number === 0 ? 'origin' : 'recipient'} ${hex(l.fingerprint)} untrusted-comment ${l.comment}`);
    if (lines.length >= 4096) flush();
  }
  for (const f of files) lines.push(`file ${f.name} untrusted-comment ${f.comment}`);
  if (digest) lines.push(`digest ${digest.name} untrusted-comment ${digest.comment}`);
  flush();
}

export function register(program: Command, ctx: CliContext): void {
  const esm = program.command('esm').description('ESM blobs (svm-tools format): who may run an SVM, its boot digests and its secrets');
  examples(esm,
    'pef esm generate -p owner.pem -s owner.sec',
    'pef esm create -b svm.esm -p owner.pem -c "owner"',
    'pef esm authorize -b svm.esm -s owner.sec -p machine1.pem -p machine2.pem',
    'pef esm authorize -b svm.esm -s owner.sec --pubkeys-from machines/',
    'pef esm digest -b svm.esm -s owner.sec -a "root=/dev/vda svm=on" -i initrd.img -k vmlinux',
    'pef esm attach -b svm.esm -s owner.sec -f luks.key -r rootd',
    'pef esm display -b svm.esm --json');
  const noIndex = () => new Option('--no-index', 'do not write the lookup index (the blob is then exactly what svm-tools writes)');

  examples(esm.command('generate').description('make an RSA-2048 key pair; the secret key is encrypted with a passphrase (terminal or PEF_PASSPHRASE; empty: unencrypted)')
    .requiredOption('-p, --pubkey <file>', 'public key PEM to write')
    .requiredOption('-s, --seckey <file>', 'secret key PEM to write (traditional "RSA PRIVATE KEY", AES-256-CBC)')
    .option('--json', 'report as JSON'), 'PEF_PASSPHRASE=secret pef esm generate -p owner.pem -s owner.sec')
    .action((o: { pubkey: string; seckey: string; json?: boolean }) => esmAction(o.seckey, async () => {
      if (o.pubkey === o.seckey) throw new InputError(o.pubkey, 'pubkey and seckey cannot be the same file');
      const keys = generateRsaKeyPair(await askNewPassphrase());
      writeFileAtomic(o.seckey, keys.sec, 0o600);
      writeFileAtomic(o.pubkey, keys.pub);
      report(ctx, o.json, { pubkey: o.pubkey, seckey: o.seckey }, '');
    }));

  examples(esm.command('create').description('make a new blob whose origin lockbox holds a fresh master key for PUBKEY')
    .requiredOption('-b, --blob <file>', 'blob to write').requiredOption('-p, --pubkey <file>', 'origin (owner) public key PEM')
    .option('-c, --comment <text>', 'untrusted comment', '').addOption(noIndex()).option('--json', 'report as JSON'),
  'pef esm create -b svm.esm -p owner.pem -c "owner key"')
    .action((o: { blob: string; pubkey: string; comment: string; index: boolean; json?: boolean }) => esmAction(o.blob, () => {
      const { bytes } = createEsmBlob(readInput(o.pubkey, 'public key'), { comment: o.comment, index: o.index });
      writeFileAtomic(o.blob, bytes);
      report(ctx, o.json, { blob: o.blob, size: bytes.length }, '');
    }));

  examples(esm.command('authorize').description('add a lockbox for each public key (-p repeated, or --pubkeys-from), encrypted on every core')
    .requiredOption('-b, --blob <file>', 'blob to change')
    .option('-p, --pubkey <file>', 'recipient public key PEM (repeatable)', collect, [])
    .option('--pubkeys-from <dir|list>', 'every file of a directory, or the files a list names (one per line)')
    .requiredOption('-s, --seckey <file>', 'an authorized secret key (the origin key, usually)')
    .option('-c, --comment <text>', 'untrusted comment for each new lockbox', '')
    .option('--name-comments', 'use each key file\'s name as its comment')
    .option('--skip-authorized', 'leave out keys already authorized instead of refusing')
    .option('-j, --jobs <n>', 'worker threads (default: every core)', (v) => Number(v))
    .addOption(noIndex()).option('--json', 'report as JSON'),
  'pef esm authorize -b svm.esm -s owner.sec -p tpm1.pem -c "rack 1"',
  'pef esm authorize -b svm.esm -s owner.sec --pubkeys-from /srv/machine-keys --name-comments')
    .action((o: { blob: string; pubkey: string[]; pubkeysFrom?: string; seckey: string; comment: string; nameComments?: boolean; skipAuthorized?: boolean; jobs?: number; index: boolean; json?: boolean }) => esmAction(o.blob, async () => {
      const paths = [...o.pubkey, ...(o.pubkeysFrom ? pubkeysFrom(o.pubkeysFrom) : [])];
      if (paths.length === 0) throw new UsageError('esm authorize: give -p PUBKEY or --pubkeys-from DIR_OR_LIST');
      if (o.jobs !== undefined && !(Number.isInteger(o.jobs) && o.jobs >= 1)) throw new InputError('--jobs', 'must be a positive integer');
      const blob = openBlob(o.blob);
      const { symkey } = openWithSecretKey(blob, await secretKey(o.seckey), o.seckey);
      const recipients: Recipient[] = paths.map((p) => ({ pubPem: readInput(p, 'public key'), comment: o.nameComments ? basename(p) : o.comment, subject: p }));
      let bar: ReturnType<typeof progress> | undefined;
      const r = await authorizeRecipients(blob, symkey, recipients, {
        jobs: o.jobs, skipAuthorized: o.skipAuthorized, index: o.index,
        onStart: (n) => { bar = progress('authorize', n, { quiet: o.json || n < 2 }); },
        onProgress: (n) => bar?.tick(n),
      });
      bar?.done();
      writeFileAtomic(o.blob, r.bytes);
      report(ctx, o.json, { blob: o.blob, added: r.added.map((a) => ({ name: a.name, pubkey: a.subject, fingerprint: hex(a.fingerprint) })), skipped: r.skipped, size: r.bytes.length },
        r.skipped.length ? `skipped (already authorized): ${r.skipped.join(', ')}` : '');
    }));

  examples(esm.command('revoke').description('remove the lockbox of each public key (never the origin)')
    .requiredOption('-b, --blob <file>', 'blob to change').option('-p, --pubkey <file>', 'public key PEM to revoke (repeatable)', collect, [])
    .addOption(noIndex()).option('--json', 'report as JSON'), 'pef esm revoke -b svm.esm -p old-machine.pem')
    .action((o: { blob: string; pubkey: string[]; index: boolean; json?: boolean }) => esmAction(o.blob, () => {
      if (o.pubkey.length === 0) throw new UsageError('esm revoke: give -p PUBKEY');
      const r = revokeRecipients(openBlob(o.blob), o.pubkey.map((p) => ({ pem: readInput(p, 'public key'), subject: p })), { index: o.index });
      writeFileAtomic(o.blob, r.bytes);
      report(ctx, o.json, { blob: o.blob, removed: r.removed }, '');
    }));

  examples(esm.command('attach').description('encrypt FILE with the master key into the blob under NAME (default: the file\'s name)')
    .requiredOption('-b, --blob <file>', 'blob to change').requiredOption('-f, --file <file>', 'file to attach')
    .requiredOption('-s, --seckey <file>', 'an authorized secret key').option('-r, --name <name>', 'attachment name', '')
    .option('-c, --comment <text>', 'untrusted comment', '').addOption(noIndex()).option('--json', 'report as JSON'),
  'pef esm attach -b svm.esm -s owner.sec -f root.key -r rootd -c "LUKS passphrase"')
    .action((o: { blob: string; file: string; seckey: string; name: string; comment: string; index: boolean; json?: boolean }) => esmAction(o.blob, async () => {
      const blob = openBlob(o.blob);
      const data = readInput(o.file, 'file');
      const { symkey } = openWithSecretKey(blob, await secretKey(o.seckey), o.seckey);
      const name = o.name || basename(o.file);
      const bytes = attachFile(blob, symkey, { name, data, comment: o.comment }, { index: o.index });
      writeFileAtomic(o.blob, bytes);
      report(ctx, o.json, { blob: o.blob, attached: name, size: data.length }, '');
    }));

  examples(esm.command('detach').description('remove the attachment NAME')
    .requiredOption('-b, --blob <file>', 'blob to change').requiredOption('-f, --file <name>', 'attachment name')
    .addOption(noIndex()).option('--json', 'report as JSON'), 'pef esm detach -b svm.esm -f rootd')
    .action((o: { blob: string; file: string; index: boolean; json?: boolean }) => esmAction(o.blob, () => {
      writeFileAtomic(o.blob, detachFile(openBlob(o.blob), o.file, { index: o.index }));
      report(ctx, o.json, { blob: o.blob, detached: o.file }, '');
    }));

  examples(esm.command('extract').description('decrypt the attachment NAME with any authorized secret key')
    .requiredOption('-b, --blob <file>', 'blob to read').requiredOption('-f, --file <name>', 'attachment name')
    .requiredOption('-s, --seckey <file>', 'an authorized secret key').option('-o, --output <file>', 'write here (default: standard output)'),
  'pef esm extract -b svm.esm -f rootd -s machine.sec -o root.key')
    .action((o: { blob: string; file: string; seckey: string; output?: string }) => esmAction(o.blob, async () => {
      const blob = openBlob(o.blob);
      const { symkey } = openWithSecretKey(blob, await secretKey(o.seckey), o.seckey);
      const data = decryptFile(blob, symkey, o.file);
      if (o.output) writeFileAtomic(o.output, data, 0o600);
      else {
        // Standard output carries text; a binary attachment needs -o to arrive unchanged.
        let text: string;
        try { text = new TextDecoder('utf-8', { fatal: true }).decode(data); } catch { throw new InputError(o.file, 'attachment is not text; write it with -o FILE'); }
        ctx.out(text);
      }
    }));

  examples(esm.command('display').description('list the lockboxes (origin first), the attachments and the digest, with their untrusted comments')
    .requiredOption('-b, --blob <file>', 'blob to read').option('--json', 'one JSON object'), 'pef esm display -b svm.esm')
    .action((o: { blob: string; json?: boolean }) => esmAction(o.blob, () => display(openBlob(o.blob), ctx, o.json)));

  examples(esm.command('digest').description('seal the SHA-512 digests of RTAS, kernel (its objcopy -O binary image), initramfs and boot arguments into the blob')
    .requiredOption('-b, --blob <file>', 'blob to change').requiredOption('-s, --seckey <file>', 'an authorized secret key')
    .requiredOption('-a, --args <bootargs>', 'kernel command line, exactly as the SVM boots with it')
    .requiredOption('-i, --initramfs <file>', 'initramfs (before `svm add`)').requiredOption('-k, --kernel <file>', 'kernel ELF (vmlinux)')
    .option('-c, --comment <text>', 'untrusted comment', '').option('--rtas <file>', 'RTAS image (default: the model firmware\'s RTAS)')
    .addOption(noIndex()).option('--json', 'report as JSON'),
  'pef esm digest -b svm.esm -s owner.sec -a "root=/dev/vda svm=on" -i initrd.img -k vmlinux')
    .action((o: { blob: string; seckey: string; args: string; initramfs: string; kernel: string; comment: string; rtas?: string; index: boolean; json?: boolean }) => esmAction(o.blob, async () => {
      const blob = openBlob(o.blob);
      const d = computeDigests({ kernelElf: readInput(o.kernel, 'kernel ELF'), initramfs: readInput(o.initramfs, 'initramfs'), bootargs: o.args, rtas: o.rtas ? readInput(o.rtas, 'RTAS image') : undefined });
      const { symkey } = openWithSecretKey(blob, await secretKey(o.seckey), o.seckey);
      writeFileAtomic(o.blob, setDigests(blob, symkey, d, o.comment, { index: o.index }));
      report(ctx, o.json, { blob: o.blob, kernelSize: d.kernelSize, kernel: hex(d.kernel), initrd: hex(d.initrd), bootargs: hex(d.bootargs), rtas: hex(d.rtas) }, '');
    }));

  examples(esm.command('bench').description('`pef bench esm` with a chosen number of recipients')
    .option('-n, --recipients <n>', 'recipients to authorize', (v) => Number(v), 1_000_000)
    .option('-j, --jobs <n>', 'worker threads (default: every core)', (v) => Number(v)).option('--json', 'one JSON object'),
  'pef esm bench -n 100000')
    .action(async (o: { recipients: number; jobs?: number; json?: boolean }) => {
      if (!Number.isInteger(o.recipients) || o.recipients < 1) throw new InputError('--recipients', 'must be a positive integer');
      const r = await runEsmBench({ json: !!o.json, log: (s) => { if (!o.json) ctx.err(s + '\n'); } }, { recipients: o.recipients, jobs: o.jobs });
      ctx.out(o.json ? JSON.stringify(r) + '\n' : formatReport(r));
    });

  examples(esm.command('make').description('build a whole blob from svm-tools\' YAML: origin, recipient, digest and file entries')
    .requiredOption('-b, --blob <file>', 'blob to write').requiredOption('-y, --config <file>', 'YAML configuration')
    .option('-j, --jobs <n>', 'worker threads for the recipients', (v) => Number(v)).addOption(noIndex()).option('--json', 'report as JSON'),
  'pef esm make -b svm.esm -y svm_blob.yml')
    .action((o: { blob: string; config: string; jobs?: number; index: boolean; json?: boolean }) => esmAction(o.config, async () => {
      const bytes = await make(o.config, { jobs: o.jobs, index: o.index });
      writeFileAtomic(o.blob, bytes);
      report(ctx, o.json, { blob: o.blob, size: bytes.length }, '');
    }));
}

type Entry = Record<string, unknown>;

function entryFields(config: string, kind: string, e: unknown, allowed: string[], required: string[]): Record<string, string> {
  if (typeof e !== 'object' || e === null || Array.isArray(e)) throw new InputError(config, `${kind} entry must be a map`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(e as Entry)) {
    if (!allowed.includes(k)) throw new InputError(config, `${kind} entry: unexpected key: ${k}`);
    if (typeof v !== 'string' && typeof v !== 'number') throw new InputError(config, `${kind} entry: ${k} must be a string`);
    out[k] = String(v);
  }
  for (const k of required) if (!(k in out)) throw new InputError(config, `${kind} entry: missing key: ${k}`);
  return out;
}

/** `esm make`: everything svm-tools' make does, written once at the end instead of step by step. */
async function make(config: string, opts: { jobs?: number; index: boolean }): Promise<Uint8Array> {
  let doc: unknown;
  try { doc = parseYaml(Buffer.from(readInput(config, 'YAML configuration')).toString('utf8')); } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(config, `not valid YAML (${(e as Error).message.split('\n')[0]})`);
  }
  if (!Array.isArray(doc)) throw new InputError(config, 'invalid format: expected a list of entries');
  const origins: Record<string, string>[] = [];
  const recipients: Record<string, string>[] = [];
  const digests: Record<string, string>[] = [];
  const files: Record<string, string>[] = [];
  for (const entry of doc) {
    if (typeof entry !== 'object' || entry === null || Object.keys(entry).length !== 1) throw new InputError(config, `entry ${JSON.stringify(entry)}: invalid format`);
    const [kind, body] = Object.entries(entry as Entry)[0]!;
    if (kind === 'origin') origins.push(entryFields(config, kind, body, ['comment', 'pubkey', 'seckey'], ['pubkey', 'seckey']));
    else if (kind === 'recipient') recipients.push(entryFields(config, kind, body, ['comment', 'pubkey'], ['pubkey']));
    else if (kind === 'digest') digests.push(entryFields(config, kind, body, ['comment', 'args', 'initramfs', 'kernel', 'rtas'], ['args', 'initramfs', 'kernel']));
    else if (kind === 'file') files.push(entryFields(config, kind, body, ['comment', 'name', 'path'], ['path']));
    else throw new InputError(config, `unknown entry: ${kind}`);
  }
  if (origins.length !== 1) throw new InputError(config, origins.length ? 'multiple origin entries' : 'missing origin entry');
  if (digests.length > 1) throw new InputError(config, 'multiple digest entries');
  if (digests.length === 0 && (recipients.length || files.length)) throw new InputError(config, 'missing digest entry');
  const origin = origins[0]!;
  // Every file the configuration names is a regular file, checked before anything is read,
  // asked for or written: a device or a FIFO would otherwise be read forever or block.
  const needsSeckey = recipients.length > 0 || files.length > 0 || digests.length > 0;
  const inputs: [string, string][] = [[origin.pubkey!, 'public key'], ...(needsSeckey ? [[origin.seckey!, 'secret key'] as [string, string]] : [])];
  for (const r of recipients) inputs.push([r.pubkey!, 'public key']);
  for (const d of digests) {
    inputs.push([d.kernel!, 'kernel ELF'], [d.initramfs!, 'initramfs']);
    if (d.rtas) inputs.push([d.rtas, 'RTAS image']);
  }
  for (const f of files) inputs.push([f.path!, 'file']);
  for (const [path, what] of inputs) checkInputFile(path, what);
  const created = createEsmBlob(readInput(origin.pubkey!, 'public key'), { comment: origin.comment ?? '', index: opts.index });
  let blob = parseEsmBlob(created.bytes);
  const symkey = created.symkey;
  // svm-tools asks for the origin passphrase to prove the owner holds the key; so do we.
  if (recipients.length || files.length || digests.length) openWithSecretKey(blob, await secretKey(origin.seckey!), origin.seckey!);
  if (recipients.length) {
    const r = await authorizeRecipients(blob, symkey, recipients.map((x) => ({ pubPem: readInput(x.pubkey!, 'public key'), comment: x.comment ?? '', subject: x.pubkey! })), { jobs: opts.jobs, index: opts.index });
    blob = parseEsmBlob(r.bytes);
  }
  if (digests.length) {
    const d = digests[0]!;
    const dg = computeDigests({ kernelElf: readInput(d.kernel!, 'kernel ELF'), initramfs: readInput(d.initramfs!, 'initramfs'), bootargs: d.args!, rtas: d.rtas ? readInput(d.rtas, 'RTAS image') : undefined });
    blob = parseEsmBlob(setDigests(blob, symkey, dg, d.comment ?? '', { index: opts.index }));
  }
  for (const f of files) {
    blob = parseEsmBlob(attachFile(blob, symkey, { name: f.name || basename(f.path!), data: readInput(f.path!, 'file'), comment: f.comment ?? '' }, { index: opts.index }));
  }
  return blob.bytes;
}
