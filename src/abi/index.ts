// The one source of the PEF ABI numbers used by code, tests and docs/abi.md.
export * from './msr.js';
export * from './spr.js';
export * from './interrupts.js';
export * from './retcodes.js';
export * from './ultracalls.js';
export * from './hcalls.js';
export * from './pages.js';
