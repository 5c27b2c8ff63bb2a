import type { RoomMessage } from "../personas/room-message.ts";
import { toolResultSummary } from "./tool-summary.ts";

/** One tool result the console showed: `/output N` prints its whole output. */
export type ToolOutput = { number: number; persona: string; name: string; ok: boolean; output: string; screenshot?: string };

/** How many results are kept for `/output`; older ones are dropped (the transcript and `/save` keep them all). */
const KEPT = 500;

/**
 * The tool results of this console, numbered in the order they came (a resumed session's first, from its messages):
 * the room shows the first lines of each under its `✓` line with its number, and `/output N` the whole of it.
 * A reply's results are also found by their place in it, so `/history` can name each one's number.
 */
export class ToolOutputs {
  readonly #entries: ToolOutput[] = [];
  readonly #byReply = new Map<string, number[]>();
  #next = 1;

  /** The results already in `messages` (a resumed session's), in order. */
  static fromHistory(messages: readonly RoomMessage[]): ToolOutputs {
    const outputs = new ToolOutputs();
    outputs.addMessages(messages);
    return outputs;
  }

  /** Records the results of `messages` (a resumed session's, before its first new turn), in order. */
  addMessages(messages: readonly RoomMessage[]): void {
    for (const message of messages) for (const run of message.tools ?? []) this.add(message.id, message.from, run);
  }

  /** Records a result of reply `replyId` and answers its number. */
  add(replyId: string, persona: string, run: { call: { name: string }; ok: boolean; output: string; data?: unknown }): number {
    const number = this.#next++;
    const screenshot = run.ok ? toolResultSummary(run.call.name, run.data)?.screenshot : undefined;
    this.#entries.push({ number, persona, name: run.call.name, ok: run.ok, output: run.output, ...(screenshot ? { screenshot } : {}) });
    if (this.#entries.length > KEPT) this.#entries.shift();
    const numbers = this.#byReply.get(replyId) ?? [];
    numbers.push(number);
    this.#byReply.set(replyId, numbers);
    return number;
  }

  /** Result `number`, or the newest without one; undefined when there is none (or it is no longer kept). */
  get(number?: number): ToolOutput | undefined {
    if (number === undefined) return this.#entries.at(-1);
    return this.#entries.find((entry) => entry.number === number);
  }

  /** The number of the `index`-th result of reply `replyId` (the order its tools ran in). */
  numberOf(replyId: string, index: number): number | undefined {
    return this.#byReply.get(replyId)?.[index];
  }

  /** The newest result's number; 0 before any. */
  get newest(): number {
    return this.#next - 1;
  }
}
