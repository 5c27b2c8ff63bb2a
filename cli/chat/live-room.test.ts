import { expect, test } from "bun:test";
import type { OpenedChatRoom } from "./chat-room.ts";
import { LiveRoom } from "./live-room.ts";

// Stand-ins for open rooms: LiveRoom only hands them on, so a label tells which one a turn ran on.
const room = (label: string) => ({ label }) as unknown as OpenedChatRoom & { label: string };
const label = (opened: OpenedChatRoom) => (opened as OpenedChatRoom & { label: string }).label;
/** Lets pending promise callbacks run until `done` holds (at most 100 turns of the event loop). */
async function until(done: () => boolean): Promise<void> {
  for (let turn = 0; turn < 100 && !done(); turn += 1) await new Promise((resolve) => setImmediate(resolve));
  expect(done()).toBe(true);
}

test("a change during a turn opens the room again after it; a turn typed during the reload runs on the new room", async () => {
  const order: string[] = [];
  let finishTurn = () => {};
  let finishReload = () => {};
  let reopened = 0;
  const live = new LiveRoom(room("first"), async () => {
    reopened += 1;
    order.push("reload starts");
    await new Promise<void>((resolve) => (finishReload = resolve));
    order.push("reload ends");
    return room(`reopened ${reopened}`);
  });
  const turn = live.turn(async () => {
    order.push(`turn on ${label(live.opened)}`);
    await new Promise<void>((resolve) => (finishTurn = resolve));
  });
  live.changed();
  await until(() => order.length === 1);
  expect(order).toEqual(["turn on first"]);
  finishTurn();
  await turn;
  await until(() => order.length === 2);
  expect(order).toEqual(["turn on first", "reload starts"]);
  // A line typed now waits for the reload, and a change said meanwhile is read once more after it.
  const next = live.turn(async () => order.push(`turn on ${label(live.opened)}`));
  live.changed();
  live.changed();
  finishReload();
  await until(() => order.length === 4);
  finishReload();
  await next;
  await live.settled();
  expect(reopened).toBe(2);
  expect(order).toEqual(["turn on first", "reload starts", "reload ends", "reload starts", "reload ends", "turn on reopened 2"]);
});
