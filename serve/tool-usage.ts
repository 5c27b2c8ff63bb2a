import { resolve } from "node:path";
import { ToolCallTail } from "../usage/tool-calls.ts";
import { type ToolStats, toolStatsOf } from "../usage/tool-stats.ts";

/**
 * The generated tools' calls recorded under `.org/usage/` of the roots serve reads tools from (workspace and
 * checkout), for `/metrics`: each scrape parses only the lines appended since the one before.
 */
export class ToolUsage {
  readonly #tails: ToolCallTail[];

  constructor(roots: readonly string[]) {
    this.#tails = [...new Set(roots.map((root) => resolve(root)))].map((root) => new ToolCallTail(root));
  }

  /** Every tool's figures now. */
  stats(now = Date.now()): ToolStats[] {
    return toolStatsOf(
      this.#tails.flatMap((tail) => tail.calls()),
      now,
    );
  }
}
