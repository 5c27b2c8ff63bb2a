import { expect, test } from "bun:test";
import { ServerSlots } from "./server-slots.ts";

test("slots go out first come, first served, up to the capacity; release is idempotent; an abort leaves the queue", async () => {
  const slots = new ServerSlots(2);
  const order: string[] = [];
  const first = await slots.acquire();
  const second = await slots.acquire();
  expect(slots.isFull).toBe(true);
  const controller = new AbortController();
  const third = slots.acquire().then((release) => (order.push("third"), release));
  const aborted = slots.acquire(controller.signal).then(() => order.push("aborted"), () => order.push("left"));
  const fourth = slots.acquire().then((release) => (order.push("fourth"), release));
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
