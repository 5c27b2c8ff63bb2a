import { expect, test } from "bun:test";
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
  expect(budget.spent().tokens).toBeGreaterThan(700 + 250);
  expect(budget.check()).toBe("tokens");
  expect(budget.spent().stoppedBy).toBe("tokens");

  const tools = new GrowBudget({ budgetMs: 60_000, maxTokens: 1_000, maxTools: 1 });
  expect(tools.check()).toBeUndefined();
  tools.countTool();
  expect(tools.check()).toBe("tools");
  const time = new GrowBudget({ budgetMs: 1, maxTokens: 1_000, maxTools: 1 });
  await Bun.sleep(5);
  expect(time.check()).toBe("time");
  expect(time.stepSignal(new AbortController().signal).aborted).toBe(false);
});
