import { expect, test } from "bun:test";
import { sleep } from "./sleep.ts";

test("waits at least the time asked", async () => {
  const started = performance.now();
  await sleep(30);
  // Timers may fire late on a busy machine, never early (1 ms of timer rounding aside).
  expect(performance.now() - started).toBeGreaterThanOrEqual(29);
});

test("an abort ends the wait at once and does not throw; an aborted signal does not wait at all", async () => {
  const controller = new AbortController();
  const waiting = sleep(600_000, controller.signal).then(() => "woke");
  controller.abort(new Error("stop"));
  // Without the abort this would wait ten minutes; the test's own timeout would fail it first.
  expect(await waiting).toBe("woke");
  expect(await sleep(600_000, controller.signal).then(() => "woke")).toBe("woke");
});

test("a finished sleep leaves no listener on the signal", async () => {
  const controller = new AbortController();
  let listeners = 0;
  const signal = controller.signal;
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  signal.addEventListener = ((...args: Parameters<typeof add>) => {
    listeners += 1;
    add(...args);
  }) as typeof add;
  signal.removeEventListener = ((...args: Parameters<typeof remove>) => {
    listeners -= 1;
    remove(...args);
  }) as typeof remove;
  for (let round = 0; round < 3; round += 1) await sleep(1, signal);
  expect(listeners).toBe(0);
});
