import { expect, test } from "bun:test";
import { ActionClock } from "./action-clock.ts";

const never = new Promise<never>(() => {});

test("the clock runs out on work that does not settle, and lets work that does through", async () => {
  const clock = new ActionClock();
  await expect(clock.within(never, 20, () => new Error("late"))).rejects.toThrow("late");
  expect(await clock.within(Promise.resolve(7), 20, () => new Error("late"))).toBe(7);
});

test("a wait for the person stops the clock: the deadline passes only after the answer, and the wait is counted", async () => {
  const clock = new ActionClock();
  const order: string[] = [];
  let answer: () => void = () => {};
  const asking = clock.whileWaiting(
    () =>
      new Promise<void>((resolve) => {
        answer = () => {
          order.push("answered");
          resolve();
        };
      }),
  );
  const timed = clock.within(never, 20, () => new Error("late")).catch((error: Error) => order.push(error.message));
  // Many times the clock's 20 ms pass while the question waits; nothing runs out meanwhile.
  await Bun.sleep(200);
  expect(order).toEqual([]);
  answer();
  await asking;
  await timed;
  expect(order).toEqual(["answered", "late"]);
  expect(clock.waitedMs()).toBeGreaterThanOrEqual(150);
});
