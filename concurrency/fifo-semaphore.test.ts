import { expect, test } from "bun:test";
import { FifoSemaphore } from "./fifo-semaphore.ts";

test("slots go out first come, first served, up to the capacity; release is idempotent; an abort leaves the queue", async () => {
  const slots = new FifoSemaphore(2);
  const order: string[] = [];
  const first = await slots.acquire();
  const second = await slots.acquire();
  expect(slots.isFull).toBe(true);
  const controller = new AbortController();
  const third = slots.acquire().then((release) => {
    order.push("third");
    return release;
  });
  const aborted = slots.acquire({ signal: controller.signal }).then(
    () => order.push("aborted"),
    () => order.push("left"),
  );
  const fourth = slots.acquire().then((release) => {
    order.push("fourth");
    return release;
  });
  controller.abort(new Error("stop"));
  await aborted;
  first();
  first(); // a second call frees nothing more
  const thirdRelease = await third;
  await Bun.sleep(1);
  expect(order).toEqual(["left", "third"]);
  second();
  (await fourth)();
  thirdRelease();
  expect(order).toEqual(["left", "third", "fourth"]);
  expect(slots.isFull).toBe(false);
});

test("a waiter that times out rejects with the caller's error, leaves the queue and never gets a slot", async () => {
  const slots = new FifoSemaphore(2);
  const held = [await slots.acquire(), await slots.acquire()];
  class Late extends Error {}
  const late = slots.acquire({ timeoutMs: 5, timeoutError: (ms) => new Late(`waited ${ms} ms`) });
  const patient = slots.acquire();
  expect(slots.queueLength).toBe(2);
  await expect(late).rejects.toThrow(new Late("waited 5 ms"));
  expect(slots.queueLength).toBe(1);
  held[0]?.();
  const release = await patient;
  expect(slots.inUse).toBe(2);
  release();
  held[1]?.();
  expect(slots.inUse).toBe(0);
  expect(slots.isFull).toBe(false);
});
