import { describe, expect, test } from "bun:test";
import { readChunk, readToolCallDelta, readUsage } from "./read-chunks.ts";

describe("readChunk", () => {
  test("the common chunk reads its first choice's delta, tool calls and finish reason", () => {
    const chunk = readChunk({
      id: "c",
      choices: [
        { index: 0, delta: { content: "hi", tool_calls: [{ index: 0, id: "a", function: { name: "sh", arguments: "{" } }] }, finish_reason: "stop" },
      ],
    });
    expect(chunk).toEqual({
      error: undefined,
      usage: undefined,
      choice: { delta: { content: "hi" }, toolCalls: [{ index: 0, id: "a", function: { name: "sh", arguments: "{" } }], finishReason: "stop" },
    });
  });

  test("a field of the wrong type reads as absent and the rest of the chunk still counts", () => {
    const chunk = readChunk({
      choices: [{ delta: { content: 5, reasoning: "why", tool_calls: [7, { index: "0", function: { name: "sh" } }] }, finish_reason: 1 }],
    });
    expect(chunk?.choice).toEqual({
      delta: { content: undefined, reasoning: "why", reasoning_content: undefined },
      toolCalls: [undefined, { index: undefined, id: undefined, function: { name: "sh" } }],
    });
  });

  test("a delta that is not an object says nothing; a null one falls through to message", () => {
    expect(readChunk({ choices: [{ delta: "x", message: { content: "m" } }] })?.choice?.delta).toEqual({});
    expect(readChunk({ choices: [{ delta: null, message: { content: "m" } }] })?.choice?.delta).toEqual({ content: "m" });
  });

  test("what is not an object is no chunk; choices that are not a list are none", () => {
    expect(readChunk("text")).toBeUndefined();
    expect(readChunk(null)).toBeUndefined();
    expect(readChunk({ choices: "x", usage: { prompt_tokens: 1 } })).toEqual({ error: undefined, usage: { prompt_tokens: 1 } });
  });
});

test("readToolCallDelta keeps only a safe non-negative integer index", () => {
  expect(readToolCallDelta({ index: 2 ** 60, id: "a" })?.index).toBeUndefined();
  expect(readToolCallDelta({ index: -1 })?.index).toBeUndefined();
  expect(readToolCallDelta({ index: 3 })?.index).toBe(3);
  expect(readToolCallDelta(null)).toBeUndefined();
});

test("readUsage believes only whole, non-negative, credible counts", () => {
  expect(readUsage({ prompt_tokens: 3, completion_tokens: 4 })).toEqual({ promptTokens: 3, completionTokens: 4 });
  expect(readUsage({ prompt_tokens: -1, completion_tokens: 4 })).toBeUndefined();
  expect(readUsage({ prompt_tokens: 1e12 })).toBeUndefined();
  expect(readUsage(undefined)).toBeUndefined();
});
