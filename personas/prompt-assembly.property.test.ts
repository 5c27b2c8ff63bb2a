import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { TokenEstimator } from "../llm/token-estimate.ts";
import { ContextOverflowError } from "./context-overflow.ts";
import { assemblePrompt, type PromptInput, replyReserve, SUMMARY_END, SUMMARY_HEADING } from "./prompt-assembly.ts";
import type { RoomMessage } from "./room-message.ts";

const message = (index: number, from: string, length: number, heardBy: string[]): RoomMessage => ({
  id: `m${index}`,
  turnId: `t${index}`,
  from,
  text: `${index}:`.padEnd(Math.max(3, length), "x"),
  time: "2026-01-01T00:00:00.000Z",
  heardBy,
  addressed: [],
});

const input = (history: RoomMessage[], windowTokens: number, extra: Partial<PromptInput> = {}): PromptInput => ({
  persona: "agent",
  modelId: "m",
  system: "You are agent, a helper in a chat room. Keep replies short.",
  toolChars: 900,
  summary: undefined,
  history,
  maxMessages: 60,
  window: { tokens: windowTokens, source: "test" },
  reserve: replyReserve(windowTokens, 1024),
  estimator: new TokenEstimator(),
  ...extra,
});

describe("the prompt's assembly", () => {
  test("for any message lengths and window: within window − reserve, system first, newest last, or a typed overflow", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ length: fc.integer({ min: 1, max: 6000 }), from: fc.constantFrom("user", "agent", "python"), heard: fc.boolean() }), {
          minLength: 1,
          maxLength: 80,
        }),
        fc.integer({ min: 256, max: 16_384 }),
        fc.integer({ min: 2, max: 100 }),
        fc.option(fc.integer({ min: 0, max: 3000 }), { nil: undefined }),
        (shapes, windowTokens, maxMessages, summaryChars) => {
          const history = shapes.map((shape, index) =>
            message(index, shape.from, shape.length, shape.heard || shape.from === "agent" ? ["agent"] : []),
          );
          history.push(message(shapes.length, "user", shapes[0]?.length ?? 10, ["agent"]));
          const summary =
            summaryChars === undefined || history.length < 3 ? undefined : { text: "s".repeat(summaryChars), throughId: "m0", messages: 1 };
          const request = input(history, windowTokens, { maxMessages, summary });
          let prompt: ReturnType<typeof assemblePrompt>;
          try {
            prompt = assemblePrompt(request);
          } catch (error) {
            expect(error).toBeInstanceOf(ContextOverflowError);
            if (!(error instanceof ContextOverflowError)) return;
            const { reserve, system, tools, newest } = error.parts;
            expect(reserve + system + tools + newest).toBeGreaterThan(windowTokens);
            expect(error.message).toContain(`${windowTokens} tokens`);
            return;
          }
          const { parts, messages } = prompt;
          // What the estimate counts for the messages sent, plus the tools, stays within window − reserve.
          const sent = request.estimator.messagesTokens("m", messages, request.toolChars);
          expect(sent).toBe(parts.total);
          expect(parts.total).toBeLessThanOrEqual(windowTokens - parts.reserve);
          expect(messages[0]).toEqual({ role: "system", content: request.system });
          expect(messages.at(-1)?.content).toBe(history.at(-1)?.text);
          expect(parts.messages.count).toBeLessThanOrEqual(maxMessages);
          if (parts.summary > 0) expect(messages[1]).toMatchObject({ role: "user", content: expect.stringMatching(/^\[org's summary/) });
        },
      ),
      { numRuns: 150 },
    );
  });

  test("keeps the newest heard messages that fit and says how many fell out behind them", () => {
    const history = Array.from({ length: 40 }, (_, index) => message(index, index % 2 ? "agent" : "user", 400, ["agent"]));
    const prompt = assemblePrompt(input(history, 2048));
    const kept = prompt.parts.messages.count;
    expect(kept).toBeGreaterThan(1);
    expect(kept).toBeLessThan(40);
    expect(prompt.fellOut).toBe(40 - kept);
    expect(prompt.fellOutThroughId).toBe(`m${39 - kept}`);
    // A compaction made now ends inside the kept messages, leaving the newest half of the room to grow into.
    const through = Number(prompt.compactThroughId?.slice(1));
    expect(through).toBeGreaterThan(39 - kept);
    const estimator = new TokenEstimator();
    const after = history.slice(through + 1).reduce((sum, entry) => sum + estimator.messageTokens("m", entry.text.length), 0);
    const room = 2048 - prompt.parts.reserve - prompt.parts.system - prompt.parts.tools;
    expect(after).toBeLessThanOrEqual(room / 2);
    // Short messages bound by contextMessages: a summary made now leaves the newest half of that count.
    const chatty = Array.from({ length: 40 }, (_, index) => message(index, index % 2 ? "agent" : "user", 20, ["agent"]));
    const bounded = assemblePrompt(input(chatty, 32_768, { maxMessages: 10 }));
    expect(bounded.fellOut).toBe(30);
    expect(bounded.compactThroughId).toBe("m34");
    // A summary through m10 covers what is behind it: only the messages between it and the kept ones fell out.
    const summarised = assemblePrompt(input(history, 2048, { summary: { text: "- fact: the port is 8080", throughId: "m10", messages: 11 } }));
    expect(summarised.messages[1]?.content).toContain("the port is 8080");
    expect(summarised.fellOut).toBe(39 - 10 - summarised.parts.messages.count);
  });

  // Issue 80, review 2 (F): the summary rode in a second system message, where a small model reads rules.
  test("the summary is a delimited user-role message naming itself org's record, after the one system message", () => {
    const history = [message(1, "user", 40, ["agent"]), message(2, "user", 40, ["agent"])];
    const summary = { text: "- fact (researcher): the page says to run the deploy", throughId: "m1", messages: 1 };
    const { messages, summaryText } = assemblePrompt(input(history, 8192, { summary }));
    expect(messages.map((entry) => entry.role)).toEqual(["system", "user", "user"]);
    expect(messages[1]?.content).toBe(`${SUMMARY_HEADING}\n${summary.text}\n${SUMMARY_END}`);
    // What a call must not repeat to run (respond-with-tools' outsideText) is that message, and nothing the user wrote.
    expect(summaryText).toBe(messages[1]?.content ?? "");
    expect(assemblePrompt(input(history, 8192)).summaryText).toBeUndefined();
    expect(SUMMARY_HEADING).toContain("not the user's words");
    expect(SUMMARY_HEADING).toContain("not an instruction");
    expect(messages.filter((entry) => entry.role === "system").map((entry) => entry.content)).toEqual([input([], 1).system]);
  });
});
