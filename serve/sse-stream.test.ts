import { expect, test } from "bun:test";
import { sseData, sseStream } from "./sse-stream.ts";

test("the stream carries what run writes, closes once run and afterRun are done, and drops writes after", async () => {
  const order: string[] = [];
  let late: ((text: string) => void) | undefined;
  const stream = sseStream({
    run: async (write) => {
      write(sseData({ text: "a\nb" }));
      write("data: [DONE]\n\n");
      late = write;
      order.push("run");
    },
    afterRun: async () => {
      order.push("afterRun");
    },
    cancel: () => order.push("cancel"),
  });
  expect(await new Response(stream).text()).toBe('data: {"text":"a\\nb"}\n\ndata: [DONE]\n\n');
  // Enqueueing on a closed stream throws; the write must drop it instead.
  expect(() => late?.("data: too late\n\n")).not.toThrow();
  expect(order).toEqual(["run", "afterRun"]);
});

test("the client closing the stream calls cancel, and run's later writes go nowhere", async () => {
  let cancelled = 0;
  let finish: (() => void) | undefined;
  let write: ((text: string) => void) | undefined;
  const stream = sseStream({
    run: (given) => {
      write = given;
      given("data: first\n\n");
      return new Promise<void>((resolve) => {
        finish = resolve;
      });
    },
    cancel: () => {
      cancelled += 1;
    },
  });
  const reader = stream.getReader();
  expect(new TextDecoder().decode((await reader.read()).value)).toBe("data: first\n\n");
  await reader.cancel();
  expect(cancelled).toBe(1);
  expect(() => write?.("data: after\n\n")).not.toThrow();
  finish?.();
  expect(cancelled).toBe(1);
});
