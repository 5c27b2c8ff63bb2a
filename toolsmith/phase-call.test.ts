import { describe, expect, test } from "bun:test";
import { SourceSubmission } from "../generated-tools/tool-metadata.ts";
import { scriptedModel } from "../llm/scripted-model.ts";
import { callPhase, readPhaseAnswer } from "./phase-call.ts";

const tool = { name: "submit_tests", description: "the tests", parameters: SourceSubmission };
const native = (args: Record<string, unknown>, name = "submit_tests") => ({ content: "", toolCalls: [{ id: "c1", name, arguments: args }] });

describe("reading one answer of a phase", () => {
  test("a native call with valid arguments is kept, with what adjust noted", () => {
    const answer = readPhaseAnswer({ tool, adjust: ({ code }) => ({ value: { code: code.trim() }, notes: ["spaces"] }) }, native({ code: "  x  " }));
    expect(answer).toEqual({ ok: true, value: { code: "x" }, notes: ["spaces"] });
  });

  test("a call written into the text counts as a call", () => {
    const answer = readPhaseAnswer({ tool }, { content: '<tool_call>{"name":"submit_tests","arguments":{"code":"y"}}</tool_call>', toolCalls: [] });
    expect(answer).toEqual({ ok: true, value: { code: "y" }, notes: [] });
  });

  test("no call: the problem says which tool to call, and the words are kept for the failure", () => {
    expect(readPhaseAnswer({ tool }, { content: "I  cannot\n do that", toolCalls: [] })).toEqual({
      ok: false,
      problem: "you did not call submit_tests. Answer only by calling submit_tests.",
      words: "I cannot do that",
      called: false,
    });
    expect(readPhaseAnswer({ tool }, native({ code: "z" }, "submit_spec"))).toMatchObject({
      ok: false,
      problem: "you called submit_spec, which does not exist here. Call submit_tests.",
    });
  });

  test("broken JSON, invalid arguments, adjust's and check's problems go back, in that order", () => {
    const broken = { content: "", toolCalls: [{ id: "c1", name: "submit_tests", arguments: {}, invalidArguments: "{code:" }] };
    expect(readPhaseAnswer({ tool }, broken)).toMatchObject({ ok: false, problem: expect.stringContaining("not valid JSON") });
    expect(readPhaseAnswer({ tool }, native({ code: 5 }))).toMatchObject({
      ok: false,
      problem: expect.stringMatching(/^invalid arguments for submit_tests: code: /),
    });
    const check = () => "checked and refused";
    expect(readPhaseAnswer({ tool, adjust: () => ({ problem: "adjust refused" }), check }, native({ code: "a" }))).toEqual({
      ok: false,
      problem: "adjust refused",
      words: "",
      called: true,
    });
    expect(readPhaseAnswer({ tool, check }, native({ code: "a" }))).toEqual({ ok: false, problem: "checked and refused", words: "", called: true });
  });
});

describe("a phase on the in-memory model", () => {
  test("a wrong answer goes back with its exact error; the next, valid one is kept with its provenance", async () => {
    const model = scriptedModel([{ text: "here are tests" }, { toolCalls: [{ name: "submit_tests", arguments: { code: "test('x', () => {});" } }] }], {
      modelId: "qwen3:8b",
    });
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
