// bench/context.ts — what assembling a persona's next prompt costs in a long session: the prompt of a 10 000-message
// session (a summary through the messages that fell out, the newest that fit a 4 096-token window) against the same
// session at 100 messages, so a figure that grows with the history shows; the baseline is one pass over the history
// (what counting every message again would cost at least). Then the estimate against the scripted server's count
// (scripted-server/README.md: ceil(chars/4) + 4 a message, ceil(json/4) for the tools) on the bench's texts.
import { availableParallelism } from "node:os";
import type { ChatMessage, ToolDefinition } from "../llm/chat-types.ts";
import { TokenEstimator, toolChars } from "../llm/token-estimate.ts";
import { assemblePrompt, replyReserve } from "../personas/prompt-assembly.ts";
import type { RoomMessage } from "../personas/room-message.ts";

const RUNS = 2_000;
const time = new Date().toISOString();
const sentence = "The build runs the tests first, then packs the bundle into dist/app.js; a failure stops it. ";
const text = (index: number) => `Message ${index}: ${sentence.repeat(1 + (index % 7))}`;
const history = (count: number): RoomMessage[] =>
  Array.from({ length: count }, (_, index) => ({
    id: `m${index}`,
    turnId: `t${Math.floor(index / 2)}`,
    from: index % 2 === 0 ? "user" : "agent",
    text: text(index),
    time,
    heardBy: ["agent"],
    addressed: [],
  }));
const tools: ToolDefinition[] = ["sh", "memory_search", "memory_save", "chat_mode"].map((name) => ({
  type: "function",
  function: { name, description: `The ${name} tool: ${sentence}`, parameters: { type: "object", properties: { text: { type: "string" } } } },
}));
const system = `You are agent, a helper in a chat room. ${sentence.repeat(3)}`;

/** Microseconds per prompt assembled over `messages`, the summary through the message `summaryAt` back from the end. */
function assemble(messages: RoomMessage[], summaryAt: number): number {
  const estimator = new TokenEstimator();
  const window = { tokens: 4096, source: "bench" };
  const summaryIndex = Math.max(0, messages.length - summaryAt);
  const summary = { text: `- fact: ${sentence}`.repeat(8), throughId: `m${summaryIndex}`, messages: summaryIndex + 1 };
  const input = {
    persona: "agent",
    modelId: "bench",
    system,
    toolChars: toolChars(tools),
    summary,
    history: messages,
    maxMessages: 60,
    window,
    reserve: replyReserve(window.tokens, 1024),
    estimator,
  };
  assemblePrompt(input);
  const started = performance.now();
  for (let run = 0; run < RUNS; run += 1) assemblePrompt(input);
  return ((performance.now() - started) * 1000) / RUNS;
}

/** Microseconds per pass that measures every message of the history: the least a recount would cost. */
function recount(messages: RoomMessage[]): number {
  const started = performance.now();
  let chars = 0;
  for (let run = 0; run < RUNS; run += 1) for (const message of messages) chars += message.heardBy.includes("agent") ? message.text.length : 0;
  if (chars < 0) throw new Error("unreachable");
  return ((performance.now() - started) * 1000) / RUNS;
}

const long = history(10_000);
const short = history(100);
// The summary sits just behind what fits: the walk stops where the kept messages end.
const at10k = assemble(long, 40);
const at100 = assemble(short, 40);
const baseline = recount(long);
console.log(`prompt assembly: ${RUNS} runs, ${availableParallelism()} cores`);
console.log(`  10 000-message session ${(at10k / 1000).toFixed(4)} ms a prompt; 100-message ${(at100 / 1000).toFixed(4)} ms (target ≤ 2 ms)`);
console.log(`  one pass over the 10 000 messages ${(baseline / 1000).toFixed(4)} ms (a recount's floor): ×${(baseline / at10k).toFixed(1)}`);

// The estimate against the scripted server's count, on these texts.
const serverCount = (messages: readonly ChatMessage[]) =>
  messages.reduce((sum, message) => sum + Math.ceil((message.content?.length ?? 0) / 4) + 4, 0) + Math.ceil(JSON.stringify(tools).length / 4);
const estimator = new TokenEstimator();
let worst = 0;
for (let size = 1; size <= 60; size += 1) {
  const said = short.slice(0, size).map((message): ChatMessage => ({ role: "user", content: message.text }));
  const messages: ChatMessage[] = [{ role: "system", content: system }, ...said];
  const counted = serverCount(messages);
  worst = Math.max(worst, Math.abs(estimator.messagesTokens("bench", messages, toolChars(tools)) - counted) / counted);
}
console.log(`  estimate against the scripted server's count, 60 prompts: at most ${(worst * 100).toFixed(2)} % off (target ≤ 10 %)`);
