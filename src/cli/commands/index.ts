// Every command group, in the order `pef --help` lists them. Add one line per group.
import type { Command } from 'commander';
import type { CliContext } from '../main.js';
import { register as demo } from './demo.js';
import { register as bench } from './bench.js';
import { register as esm } from './esm.js';
import { register as svm } from './svm.js';
import { register as image } from './image.js';
import { register as machine } from './machine.js';
import { register as firmware } from './firmware.js';
import { register as run } from './run.js';
import { register as attack } from './attack.js';
import { register as exec } from './exec.js';

export type Register = (program: Command, ctx: CliContext) => void;

export const COMMANDS: Register[] = [
  demo,
  bench,
  esm,
  svm,
  image,
  machine,
  firmware,
  run,
  attack,
  exec,
];
