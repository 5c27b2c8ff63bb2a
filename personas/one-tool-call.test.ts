import { describe, expect, test } from "bun:test";
import { z } from "zod";
import { toolMetadataSchemas } from "../generated-tools/tool-metadata.ts";
import { readOneToolAnswer } from "./one-tool-call.ts";

const tool = { name: "submit_tests", description: "the tests", parameters: toolMetadataSchemas().SourceSubmission };
const native = (args: Record<string, unknown>, name = "submit_tests") => ({ content: "", toolCalls: [{ id: "c1", name, arguments: args }] });

describe("reading one answer offered one tool", () => {
  test("a native call with valid arguments is kept, with what adjust noted", () => {
    const answer = readOneToolAnswer(
      { tool, adjust: ({ code }) => ({ value: { code: code.trim() }, notes: ["spaces"] }) },
      native({ code: "  x  " }),
    );
    expect(answer).toEqual({ ok: true, value: { code: "x" }, notes: ["spaces"] });
  });

  test("a call written into the text counts as a call", () => {
    const answer = readOneToolAnswer({ tool }, { content: '<tool_call>{"name":"submit_tests","arguments":{"code":"y"}}</tool_call>', toolCalls: [] });
    expect(answer).toEqual({ ok: true, value: { code: "y" }, notes: [] });
  });

  test("no call: the problem says which tool to call, and the words are kept for the failure", () => {
    expect(readOneToolAnswer({ tool }, { content: "I  cannot\n do that", toolCalls: [] })).toEqual({
      ok: false,
      problem: "you did not call submit_tests. Answer only by calling submit_tests.",
      words: "I cannot do that",
      called: false,
    });
    expect(readOneToolAnswer({ tool }, native({ code: "z" }, "submit_spec"))).toMatchObject({
      ok: false,
      problem: "you called submit_spec, which does not exist here. Call submit_tests.",
    });
  });

  test("broken JSON, invalid arguments, adjust's and check's problems go back, in that order", () => {
    const broken = { content: "", toolCalls: [{ id: "c1", name: "submit_tests", arguments: {}, invalidArguments: "{code:" }] };
    expect(readOneToolAnswer({ tool }, broken)).toMatchObject({ ok: false, problem: expect.stringContaining("not valid JSON") });
    expect(readOneToolAnswer({ tool }, native({ code: 5 }))).toMatchObject({
      ok: false,
      problem: expect.stringMatching(/^invalid arguments for submit_tests: code: /),
    });
    const check = () => "checked and refused";
    expect(readOneToolAnswer({ tool, adjust: () => ({ problem: "adjust refused" }), check }, native({ code: "a" }))).toEqual({
      ok: false,
      problem: "adjust refused",
      words: "",
      called: true,
    });
    expect(readOneToolAnswer({ tool, check }, native({ code: "a" }))).toEqual({ ok: false, problem: "checked and refused", words: "", called: true });
  });
});

describe("the arguments alone, as a small model answers when it is offered one tool", () => {
  const needs = {
    name: "report_needs",
    description: "needs",
    parameters: z.object({ needs: z.array(z.object({ goal: z.string(), quote: z.string() })) }),
  };
  const written = '{"needs": [{"quote": "a vowel counter", "goal": "count vowels"}]}';

  test("taken, fenced or not, only when asked for; prose around them is no answer", () => {
    const kept = { ok: true as const, value: { needs: [{ quote: "a vowel counter", goal: "count vowels" }] }, notes: [] };
    expect(readOneToolAnswer({ tool: needs, bareArguments: true }, { content: written, toolCalls: [] })).toEqual(kept);
    expect(readOneToolAnswer({ tool: needs, bareArguments: true }, { content: `\`\`\`json\n${written}\n\`\`\``, toolCalls: [] })).toEqual(kept);
    expect(readOneToolAnswer({ tool: needs }, { content: written, toolCalls: [] })).toMatchObject({ ok: false });
    expect(readOneToolAnswer({ tool: needs, bareArguments: true }, { content: `Here: ${written}`, toolCalls: [] })).toMatchObject({ ok: false });
  });
});
