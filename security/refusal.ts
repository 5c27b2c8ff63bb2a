import { errorCode } from "../concurrency/error-code.ts";
import { OrgError } from "../errors/org-error.ts";

/**
 * Whether an error is an answer for the user rather than a bug: it is an `OrgError` (`errors/org-error.ts`: a refused
 * promotion, a bad config, a lock held), or the operating system raised it (a
 * path, an address, a permission: `ENOENT`, `EACCES`, `EADDRINUSE`), whose message names what. The one test of every
 * place that tells them apart: main prints a refusal as one line and a bug with its stack; a stage of the cycle, a
 * promotion of `org grow`, its health actions' rollbacks and removals, the demo's judging take a refusal as their
 * outcome and let a bug through.
 */
export function isRefusal(error: unknown): error is Error {
  if (!(error instanceof Error)) return false;
  if (OrgError.isInstance(error)) return true;
  return /^E[A-Z0-9]+$/.test(errorCode(error) ?? "");
}
