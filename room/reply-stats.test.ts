import { expect, test } from "bun:test";
import { ReplyStatsRecorder } from "./reply-stats.ts";

test("the wait for the model after a tool result is no streaming time: a reply shown in two chunks around it has no rate", async () => {
  const stats = new ReplyStatsRecorder();
  stats.sawOutput();
  stats.usage({ promptTokens: 5, completionTokens: 10 });
  stats.toolRan(0);
  // The model's next request: longer than the shortest stretch a rate is computed over.
  await Bun.sleep(400);
  stats.sawOutput();
  const figures = stats.finish();
  expect(figures.durationMs).toBeGreaterThanOrEqual(399);
  expect(figures.tokensPerSecond).toBe(0);
});
