import { expect, test } from "bun:test";
import { ReplyStatsRecorder } from "./reply-stats.ts";

/** A clock the test moves by hand. */
function handClock(): { now: () => number; pass: (ms: number) => void } {
  let at = 1_000;
  return { now: () => at, pass: (ms) => (at += ms) };
}

test("the wait for the model after a tool result is no streaming time: a reply shown in one chunk per request has no rate", () => {
  const clock = handClock();
  const stats = new ReplyStatsRecorder(clock.now);
  clock.pass(50);
  stats.sawOutput();
  stats.usage({ promptTokens: 5, completionTokens: 10 });
  clock.pass(400);
  stats.toolRan();
  // The model's next request, longer than the shortest stretch a rate is computed over; then the stream's tail.
  clock.pass(400);
  stats.sawOutput();
  clock.pass(300);
  const figures = stats.finish();
  expect(figures.durationMs).toBe(1_150);
  expect(figures.firstTokenMs).toBe(50);
  expect(figures.tokensPerSecond).toBe(0);
});

test("the rate is tokens over the stretches from each request's first output to its last, tool runs and waits left out", () => {
  const clock = handClock();
  const stats = new ReplyStatsRecorder(clock.now);
  stats.sawOutput();
  clock.pass(300);
  stats.sawOutput();
  stats.toolRan();
  clock.pass(500);
  stats.sawOutput();
  clock.pass(200);
  stats.sawOutput();
  clock.pass(100);
  stats.usage({ promptTokens: 5, completionTokens: 60 });
  // 60 tokens over 300 + 200 ms.
  expect(stats.finish().tokensPerSecond).toBe(120);
  // finish only reads: output after it stretches the open request to 300 + 800 ms.
  clock.pass(500);
  stats.sawOutput();
  expect(stats.finish().tokensPerSecond).toBe(54.5);
});

test("a stretch shorter than a quarter second gives no rate: two quick chunks would read as thousands a second", () => {
  const clock = handClock();
  const stats = new ReplyStatsRecorder(clock.now);
  stats.sawOutput();
  clock.pass(10);
  stats.sawOutput();
  stats.usage({ promptTokens: 1, completionTokens: 40 });
  expect(stats.finish().tokensPerSecond).toBe(0);
});
