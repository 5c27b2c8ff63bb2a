import { OrgError } from "../errors/org-error.ts";

/** A folder org was told to use as a git checkout has no `.git`; the message says what to give instead. */
export class NotACheckoutError extends OrgError {
  override name = "NotACheckoutError";

  constructor(directory: string, whatToGive: string) {
    super(`${directory} is not a git checkout; ${whatToGive}`);
  }
}
