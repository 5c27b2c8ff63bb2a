import { describe, expect, test } from "bun:test";
import { toolMetadataSchemas } from "../generated-tools/tool-metadata.ts";
import { scriptedModel } from "../llm/scripted-model.ts";
import { callPhase } from "./phase-call.ts";

const tool = { name: "submit_tests", description: "the tests", parameters: toolMetadataSchemas().SourceSubmission };

describe("a phase on the in-memory model", () => {
  test("a wrong answer goes back with its exact error; the next, valid one is kept with its provenance", async () => {
    const model = scriptedModel(
      [{ text: "here are tests" }, { toolCalls: [{ name: "submit_tests", arguments: { code: "test('x', () => {});" } }] }],
      {
        modelId: "qwen3:8b",
      },
    );
    const result = await callPhase({ phase: "tests", model, tool, messages: [{ role: "user", content: "write tests" }], retries: 1 });
    expect(result.value).toEqual({ code: "test('x', () => {});" });
    expect(result.provenance).toMatchObject({ phase: "tests", model: "qwen3:8b", attempts: 2 });
    expect(model.requests[0]?.tools?.map((offered) => offered.function.name)).toEqual(["submit_tests"]);
    expect(model.requests[1]?.messages.at(-1)?.content).toBe(
      "Error: you did not call submit_tests. Answer only by calling submit_tests. Call submit_tests again with corrected arguments.",
    );
  });

  test("no usable call in all its tries fails the phase, quoting what the model said", async () => {
    const model = scriptedModel([{ text: "I would rather not" }]);
    const attempt = callPhase({ phase: "tests", model, tool, messages: [{ role: "user", content: "write tests" }], retries: 2 });
    await expect(attempt).rejects.toThrow(/no usable submit_tests call in 3 tries.*It said: "I would rather not"/);
    expect(model.requests).toHaveLength(3);
  });
});
