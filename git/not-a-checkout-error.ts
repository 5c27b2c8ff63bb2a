/** A folder org was told to use as a git checkout has no `.git`; the message says what to give instead. */
export class NotACheckoutError extends Error {
  override name = "NotACheckoutError";
  readonly userFacing = true;

  constructor(directory: string, whatToGive: string) {
    super(`${directory} is not a git checkout; ${whatToGive}`);
  }
}
