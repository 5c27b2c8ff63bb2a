// The in-memory model must yield what the HTTP model yields for the same reply, or tests on it prove nothing.
import { describe, expect, test } from "bun:test";
import { startFrameServer, textReply, toolCallsReply } from "../testing/frame-server.ts";
import type { StreamEvent } from "./chat-types.ts";
import { httpModel } from "./http-model.ts";
import type { CompletionRequest, LanguageModel } from "./language-model.ts";
import { scriptedModel } from "./scripted-model.ts";

const request = (events: StreamEvent[], extra: Partial<CompletionRequest> = {}): CompletionRequest => ({
  messages: [{ role: "user", content: "go" }],
  onEvent: (event) => events.push(event),
  ...extra,
});

async function both(wire: Parameters<typeof startFrameServer>[0], scripted: LanguageModel, extra: Partial<CompletionRequest> = {}) {
  await using server = startFrameServer(wire);
  const httpEvents: StreamEvent[] = [];
  const scriptedEvents: StreamEvent[] = [];
  const overHttp = await httpModel({ server: server.url, modelId: "m", retry: { retries: 0 } }).stream(request(httpEvents, extra));
  const inMemory = await scripted.stream(request(scriptedEvents, extra));
  return { overHttp, inMemory, httpEvents, scriptedEvents };
}

describe("scriptedModel yields the HTTP model's shapes", () => {
  test("a text reply with <think>: same deltas, result and usage", async () => {
    const usage = { promptTokens: 20, completionTokens: 7 };
    const run = await both([textReply("<think>hmm</think>Hello there")], scriptedModel([{ text: "<think>hmm</think>Hello there", usage }]));
    expect(run.inMemory).toEqual(run.overHttp);
    expect(run.scriptedEvents).toEqual(run.httpEvents);
    expect(run.inMemory.reasoning).toBe("hmm");
  });

  test("tool calls, one with arguments that are not JSON: same calls, same finish", async () => {
    const calls = [
      { id: "a", name: "sh", arguments: { command: "ls" } },
      { id: "b", name: "sh", arguments: "{not json" },
    ];
    const run = await both([toolCallsReply(calls)], scriptedModel([{ toolCalls: calls, usage: { promptTokens: 10, completionTokens: 5 } }]));
    expect(run.inMemory).toEqual(run.overHttp);
    expect(run.scriptedEvents).toEqual(run.httpEvents);
    expect(run.inMemory.toolCalls[1]?.invalidArguments).toBe("{not json");
  });

  test("a reply cut at stopAt.chars: the same kept text, no calls, finish 'length'", async () => {
    const run = await both([textReply("abcdefghij")], scriptedModel([{ text: "abcdefghij", usage: { promptTokens: 20, completionTokens: 7 } }]), {
      stopAt: { chars: 4 },
    });
    expect(run.inMemory.content).toBe("abcd");
    expect(run.inMemory.limitReached?.reason).toBe("reply-chars");
    expect({ ...run.inMemory, usage: undefined }).toEqual({ ...run.overHttp, usage: undefined });
  });
});

describe("scriptedModel", () => {
  test("records each request, repeats its last reply, and keeps its script under another model id", async () => {
    const model = scriptedModel([{ text: "one" }, { text: "two" }], { models: ["a", "b"] });
    const texts = [];
    for (const content of ["x", "y", "z"]) texts.push((await model.stream({ messages: [{ role: "user", content }] })).content);
    expect(texts).toEqual(["one", "two", "two"]);
    expect(model.requests.map((sent) => sent.messages[0]?.content)).toEqual(["x", "y", "z"]);
    const switched = model.withModelId("b", "/use");
    expect(switched.modelId).toBe("b");
    expect(await switched.listModels()).toEqual(["a", "b"]);
  });

  test("an aborted request throws the aborted ChatError the HTTP model throws", async () => {
    const controller = new AbortController();
    controller.abort(new Error("user stop"));
    const error = await scriptedModel([{ text: "x" }])
      .stream({ messages: [], signal: controller.signal })
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ kind: "aborted" });
  });
});
