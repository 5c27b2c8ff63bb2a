import { expect, test } from "bun:test";
import { scriptedModel } from "./scripted-model.ts";
import { wrapModel } from "./wrap-model.ts";

test("wrapModel: each completion runs through wrapStream, also after withModelId; every other member is the inner model's", async () => {
  const inner = scriptedModel([{ text: "one" }, { text: "two" }], { models: ["a", "b"] });
  const seen: string[] = [];
  const wrapped = wrapModel(inner, {
    async wrapStream({ request, doStream, model }) {
      seen.push(`before ${model.modelId}: ${request.messages.at(-1)?.content}`);
      const completion = await doStream();
      seen.push(`after: ${completion.content}`);
      return { ...completion, content: completion.content.toUpperCase() };
    },
  });
  expect((await wrapped.stream({ messages: [{ role: "user", content: "hi" }] })).content).toBe("ONE");
  const switched = wrapped.withModelId("b", "/use");
  expect(switched.modelId).toBe("b");
  expect((await switched.stream({ messages: [{ role: "user", content: "again" }] })).content).toBe("TWO");
  expect(seen).toEqual(["before scripted: hi", "after: one", "before b: again", "after: two"]);
  expect([wrapped.server, await wrapped.listModels(), await wrapped.probe()]).toEqual([
    inner.server,
    ["a", "b"],
    { server: inner.server, reachable: true, models: ["a", "b"] },
  ]);
  // Without a wrapStream the model streams as it is.
  expect((await wrapModel(inner, {}).stream({ messages: [{ role: "user", content: "x" }] })).content).toBe("two");
});
