import { expect, test } from "bun:test";
import { ChatError } from "../llm/chat-errors.ts";
import { scriptedModel } from "../llm/scripted-model.ts";
import { GrowBudget } from "./grow-budget.ts";

test("the budget counts the model's tokens (its usage, else about four characters a token), tools and time, and says which bound stops a run", async () => {
  const budget = new GrowBudget({ budgetMs: 60_000, maxTokens: 1_000, maxTools: 2 });
  const counted = budget.model(scriptedModel([{ text: "ok", usage: { promptTokens: 600, completionTokens: 100 } }, { text: "x".repeat(400) }]));
  await counted.stream({ messages: [{ role: "user", content: "hi" }] });
  expect(budget.spent().tokens).toBe(700);
  expect(budget.check()).toBeUndefined();
  // No usage reported: estimated from the characters sent and received.
  await counted.withModelId("other", "test").stream({ messages: [{ role: "user", content: "y".repeat(800) }] });
  expect(budget.spent().tokens).toBeGreaterThan(700 + 200);
  expect(budget.check()).toBe("tokens");
  expect(budget.spent().stoppedBy).toBe("tokens");

  const tools = new GrowBudget({ budgetMs: 60_000, maxTokens: 1_000, maxTools: 1 });
  expect(tools.check()).toBeUndefined();
  tools.countTool();
  expect(tools.check()).toBe("tools");
  const time = new GrowBudget({ budgetMs: 1, maxTokens: 1_000, maxTools: 1 });
  await Bun.sleep(5);
  expect(time.check()).toBe("time");
});

test("the deadline holds the whole run: it fires when the wall time is up, and a build is not started with less than it needs", async () => {
  const budget = new GrowBudget({ budgetMs: 50, maxTokens: 1_000, maxTools: 3, minBuildMs: 20 });
  const deadline = budget.deadline(new AbortController().signal);
  expect(deadline.aborted).toBe(false);
  expect(budget.tooLittleTimeForABuild()).toBe(false);
  const fired = await Promise.race([
    new Promise<boolean>((resolve) => deadline.addEventListener("abort", () => resolve(true))),
    Bun.sleep(10_000).then(() => false),
  ]);
  expect(fired).toBe(true);
  expect(budget.tooLittleTimeForABuild()).toBe(true);
  expect(budget.cut()).toBe("time");
  expect(budget.spent().stoppedBy).toBe("time");
});

test("tokens are counted as they stream: a completion is cut where the run's tokens run out, and the deadline fires with it", async () => {
  const budget = new GrowBudget({ budgetMs: 60_000, maxTokens: 100, maxTools: 3 });
  const deadline = budget.deadline(new AbortController().signal);
  const model = budget.model(scriptedModel([{ text: Array.from({ length: 200 }, () => "word ") }]));
  const cut = await model.stream({ messages: [{ role: "user", content: "say a lot" }] });
  // Cut mid-stream: about 100 tokens of the 1 000 characters asked for, not the whole.
  expect(cut.limitReached?.reason).toBe("budget");
  expect(cut.content.length).toBeLessThan(500);
  expect(deadline.aborted).toBe(true);
  expect(budget.cut()).toBe("tokens");
  // Spent: the next call does not reach the model at all.
  await expect(model.stream({ messages: [{ role: "user", content: "more" }] })).rejects.toBeInstanceOf(ChatError);
  expect(budget.spent().stoppedBy).toBe("tokens");
});
