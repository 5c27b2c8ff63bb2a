import { isRefusal } from "../security/refusal.ts";
import { HttpError } from "../serve/http-error.ts";

/**
 * Runs an action of the web room; a refusal (the domain's own "no, because…": nothing to undo, a fix that cannot
 * apply, a lock held) becomes a 409 with its message, which the page shows. A bug still goes on to be a 500.
 */
export async function refusalsAs409<Value>(action: () => Value | Promise<Value>): Promise<Value> {
  try {
    return await action();
  } catch (error) {
    if (error instanceof HttpError || !isRefusal(error)) throw error;
    throw new HttpError(409, error.message);
  }
}
