// One base class for the errors Eligo raises on purpose: bad input, a limit
// reached, a request it refuses. Each carries a stable `code` (`area.what`,
// like the checker's diagnostic codes), so a front door can tell them apart
// without matching message text and can tell them from bugs: an EligoError is
// the user's to fix and is shown as one line; anything else is an internal
// error and is reported with its stack.
//
// Subclasses pass their code and keep their own name (the class name), so
// `instanceof OrderError` keeps working where a caller needs the kind.

import type { ErrorCode } from './codes.js';

export class EligoError extends Error {
  /** `area.what`, e.g. `ad.order`, `train.task`, `cli.usage`: an error code of the catalogue (util/codes.ts). */
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** True for the errors Eligo raised on purpose (bad input, a limit), false for bugs. */
export function isEligoError(e: unknown): e is EligoError {
  return e instanceof EligoError;
}
