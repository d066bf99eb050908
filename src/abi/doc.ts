// Renders the ABI tables as Markdown (docs/abi.md). The page is generated: edit the tables.
import { MSR_BITS, MODES } from './msr.js';
import { SPRS } from './spr.js';
import { VECTORS } from './interrupts.js';
import { H_CODES, U_CODES } from './retcodes.js';
import { ULTRACALLS, ESM_REASONS } from './ultracalls.js';
import { HCALLS } from './hcalls.js';
import { GPF_STATES } from './pages.js';

const hex = (n: number) => '0x' + n.toString(16).toUpperCase();
function table(head: string[], rows: (string | number)[][]): string {
  const esc = (c: string | number) => String(c).replace(/\|/g, '\\|');
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`)].join('\n');
}

export function renderAbiDoc(): string {
  const callerText: Record<string, string> = {
    hv: 'hypervisor', 'vm-kernel': "a VM's kernel (S=0, HV=0, PR=0, lpid != 0)", 'svm-kernel': "an SVM's kernel (S=1, HV=0, PR=0)", svm: 'an SVM, kernel or user (S=1, HV=0)',
  };
  return [
    '# The PEF ABI of this model',
    '',
    'Generated from src/abi by `npm run gen:abi`; CI fails when this page is stale. Do not edit by hand.',
    '',
    '## Privilege modes (MSR[S, HV, PR])',
    '',
    table(['S', 'HV', 'PR', 'mode', 'who'], MODES.map((m) => [m.s, m.hv, m.pr, m.mode, m.who])),
    '',
    '## MSR bits',
    '',
    table(['bit', 'LSB-0', 'ISA (MSB-0)', 'meaning'], MSR_BITS.map((b) => [b.name, b.lsb, b.isa, b.meaning])),
    '',
    '## Special-purpose registers',
    '',
    'Lowest privilege that may read / write: user (problem state), priv (a guest kernel), hv, uv (ultravisor only), none.',
    'A violation from problem state raises a program interrupt (0x700); from above it, hypervisor emulation assistance (0xE40).',
    '',
    table(['SPR', 'number', 'read', 'write', 'with SMFCTRL', 'description'], SPRS.map((s) => [s.name, `${s.num} (${hex(s.num)})`, s.read, s.write,
      s.uvWhen ? `${s.uvWhen.bit}=1: ${[s.uvWhen.read ? 'read' : '', s.uvWhen.write ? 'write' : ''].filter(Boolean).join('+')} uv only` : '', s.desc])),
    '',
    '## Interrupt vectors',
    '',
    'Class hv (and machine) interrupts taken with MSR[S]=1 go to the ultravisor when SMFCTRL[E]=1.',
    '',
    table(['vector', 'name', 'class', 'description'], VECTORS.map((v) => [hex(v.vector), v.name, v.cls, v.desc])),
    '',
    '## Ultracalls (`sc 2`, R3 = number)',
    '',
    table(['name', 'number', 'caller', 'arguments (R4..)', 'outputs (R4..)', 'notes'], ULTRACALLS.map((u) => [u.name + (u.extension ? ' (extension)' : ''), hex(u.number), callerText[u.caller]!, u.args.join(', ') || '-', u.outputs.join(', ') || '-', u.notes])),
    '',
    '## Hypercalls (`sc 1`, R3 = number)',
    '',
    'In and out register counts include R3; the ultravisor reflects exactly these registers.',
    '',
    table(['name', 'number', 'in', 'out', 'from', 'arguments', 'description'], HCALLS.map((h) => [h.name, hex(h.number), h.inRegs, h.outRegs, h.source, h.args.join(', ') || '-', h.desc])),
    '',
    '## Return codes',
    '',
    table(['name', 'value', 'meaning'], [...U_CODES, ...H_CODES].map((c) => [c.name, c.value, c.meaning])),
    '',
    '## UV_ESM failure reasons (UV_ESM_REASON)',
    '',
    table(['code', 'name', 'text'], ESM_REASONS.map((r) => [r.code, r.name, r.text])),
    '',
    '## Page states of an SVM frame in the ultravisor',
    '',
    table(['state', 'value', 'meaning'], GPF_STATES.map((s) => [s.name, s.value, s.meaning])),
    '',
  ].join('\n');
}
