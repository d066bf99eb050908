// Lint, and the import boundaries that keep the trust boundaries real: the untrusted
// hypervisor and guest can never hold a reference to the ultravisor, the ultravisor never
// depends on them, and the hardware and TPM import nothing above themselves.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const layer = (name) => [`**/${name}/**`, `**/${name}`, `**/${name}/*.js`];
const forbid = (layers, why) => ({
  'no-restricted-imports': ['error', { patterns: layers.map((l) => ({ group: layer(l), message: why })) }],
});

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'bin/**', '.cache/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setImmediate: 'readonly', URL: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      'no-constant-condition': ['error', { checkLoops: false }],
      'no-bitwise': 'off',
    },
  },
  { files: ['src/hypervisor/**'], rules: forbid(['ultravisor', 'guest', 'firmware', 'cli'], 'the hypervisor is untrusted: it reaches the ultravisor and guests only through the ABI') },
  { files: ['src/guest/**'], rules: forbid(['ultravisor', 'hypervisor', 'firmware', 'cli'], 'the guest reaches lower layers only through sc and memory') },
  { files: ['src/ultravisor/**'], rules: forbid(['hypervisor', 'guest', 'cli'], 'the ultravisor must not depend on untrusted layers') },
  { files: ['src/hw/**'], rules: forbid(['tpm', 'firmware', 'ultravisor', 'hypervisor', 'guest', 'esm', 'image', 'fdt', 'cli'], 'hw/ is the bottom layer') },
  { files: ['src/tpm/**'], rules: forbid(['hw', 'firmware', 'ultravisor', 'hypervisor', 'guest', 'esm', 'image', 'fdt', 'cli'], 'tpm/ is hardware: it imports nothing above it') },
  { files: ['src/abi/**'], rules: forbid(['hw', 'tpm', 'firmware', 'ultravisor', 'hypervisor', 'guest', 'esm', 'image', 'fdt', 'cli'], 'abi/ holds only tables') },
  { files: ['src/fdt/**'], rules: forbid(['hw', 'tpm', 'firmware', 'ultravisor', 'hypervisor', 'guest', 'esm', 'image', 'cli'], 'fdt/ is a format library') },
);
