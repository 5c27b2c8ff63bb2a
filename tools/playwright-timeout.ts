import { errors } from "playwright-core";
import { ActionTimeoutError } from "./action-clock.ts";
import { PageUnresponsiveError } from "./page-unresponsive-error.ts";

/** Whether a wait ran out: Playwright's own timeout, or an action's on org's clock (`ActionTimeoutError`). */
export function isTimeout(error: unknown): boolean {
  return error instanceof errors.TimeoutError || error instanceof ActionTimeoutError;
}

/** A `.catch` handler that turns Playwright's own timeout on a read of the page into a PageUnresponsiveError. */
export function timeoutAsUnresponsive(seconds: number): (error: unknown) => never {
  return (error) => {
    if (isTimeout(error)) throw new PageUnresponsiveError(seconds);
    throw error;
  };
}
