// Errors the command line reports as one line. UsageError and InputError exit with 2 (bad
// input); CheckFailed exits with 1 (a check the user asked for failed).

export class InputError extends Error {
  /** `subject` names the input: a file, a flag, an argument. */
  constructor(readonly subject: string, problem: string) {
    super(`${subject}: ${problem}`);
    this.name = 'InputError';
  }
}

export class UsageError extends Error {
  constructor(message: string) { super(message); this.name = 'UsageError'; }
}

export class CheckFailed extends Error {
  constructor(message: string) { super(message); this.name = 'CheckFailed'; }
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
