import { readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { USAGE_DIR } from "../config/workspace-paths.ts";
import { readToolCalls, type ToolCall } from "../usage/tool-calls.ts";
import { type ToolStats, toolStatsOf } from "../usage/tool-stats.ts";

/** The names and sizes of a usage folder's files: when it is unchanged, so are the calls read from it. */
function signatureOf(root: string): string {
  const directory = join(root, USAGE_DIR);
  let names: string[];
  try {
    names = readdirSync(directory).sort();
  } catch {
    return "";
  }
  return names.map((name) => `${name}:${statSync(join(directory, name), { throwIfNoEntry: false })?.size ?? -1}`).join("|");
}

/**
 * The generated tools' calls recorded under `.org/usage/` of the roots serve reads tools from (workspace and
 * checkout), for `/metrics`: read again only when a record file changed.
 */
export class ToolUsage {
  readonly #roots: string[];
  #signature: string | undefined;
  #calls: ToolCall[] = [];

  constructor(roots: readonly string[]) {
    this.#roots = [...new Set(roots.map((root) => resolve(root)))];
  }

  /** Every tool's figures now. */
  stats(now = Date.now()): ToolStats[] {
    const signature = this.#roots.map(signatureOf).join("\n");
    if (signature !== this.#signature) {
      this.#calls = this.#roots.flatMap((root) => readToolCalls(root));
      this.#signature = signature;
    }
    return toolStatsOf(this.#calls, now);
  }
}
