// The import-boundary rule is real: a hypervisor file that imports the ultravisor fails lint,
// and the same file importing an allowed layer passes (the control).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ESLint } from 'eslint';

async function lintAs(path: string, code: string): Promise<string[]> {
  const eslint = new ESLint();
  const [r] = await eslint.lintText(code, { filePath: path });
  return r!.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

const cases: [string, string, boolean][] = [
  ['src/hypervisor/x.ts', "import { a } from '../ultravisor/ultravisor.js';\nexport const b = a;\n", false],
  ['src/guest/x.ts', "import { a } from '../ultravisor/ultravisor.js';\nexport const b = a;\n", false],
  ['src/guest/x.ts', "import { a } from '../hypervisor/kvm.js';\nexport const b = a;\n", false],
  ['src/ultravisor/x.ts', "import { a } from '../hypervisor/kvm.js';\nexport const b = a;\n", false],
  ['src/ultravisor/x.ts', "import { a } from '../guest/kernel.js';\nexport const b = a;\n", false],
  ['src/hw/x.ts', "import { a } from '../tpm/engine.js';\nexport const b = a;\n", false],
  ['src/tpm/x.ts', "import { a } from '../hw/machine.js';\nexport const b = a;\n", false],
  ['src/hypervisor/x.ts', "import { a } from '../hw/machine.js';\nexport const b = a;\n", true],
  ['src/ultravisor/x.ts', "import { a } from '../esm/index.js';\nexport const b = a;\n", true],
  ['src/guest/x.ts', "import { a } from '../abi/index.js';\nexport const b = a;\n", true],
];

for (const [path, code, allowed] of cases) {
  test(`${path} importing ${/from '([^']+)'/.exec(code)![1]} is ${allowed ? 'allowed' : 'refused'}`, async () => {
    const msgs = await lintAs(path, code);
    assert.equal(msgs.length === 0, allowed, msgs.join('; '));
  });
}
