import { expect, test } from "bun:test";
import { errors } from "playwright-core";
import { ActionTimeoutError } from "./action-clock.ts";
import { PageUnresponsiveError } from "./page-unresponsive-error.ts";
import { isTimeout, timeoutAsUnresponsive } from "./playwright-timeout.ts";

test("Playwright's timeout and an action's own are timeouts by their class, not by a name a lookalike can copy", async () => {
  const lookalike = Object.assign(new Error("Timeout 1000ms exceeded"), { name: "TimeoutError" });
  const failures = [
    new errors.TimeoutError("Timeout 1000ms exceeded"),
    new ActionTimeoutError("the action took more than 1 s"),
    lookalike,
    new Error("Target closed"),
  ];
  expect(failures.map(isTimeout)).toEqual([true, true, false, false]);
  const turned = await Promise.reject(failures[0])
    .catch(timeoutAsUnresponsive(1))
    .catch((error: unknown) => error);
  expect(turned).toBeInstanceOf(PageUnresponsiveError);
  const other = failures[3];
  expect(
    await Promise.reject(other)
      .catch(timeoutAsUnresponsive(1))
      .catch((error: unknown) => error),
  ).toBe(other);
});
