import { resolve } from "node:path";
import { generatedToolFolders } from "../../config/tool-names.ts";
import { TOOL_NAME_PATTERN, USAGE_DIR } from "../../config/workspace-paths.ts";
import { oneLine } from "../../security/terminal-sanitizer.ts";
import { terminalSafeJson } from "../../security/terminal-safe-json.ts";
import type { ToolStats } from "../../usage/tool-stats.ts";
import { UsageError } from "../command/command.ts";
import { REPO_DIR } from "../command/org-invocation.ts";
import { parseCommandArgs } from "../command/parse-command-args.ts";
import { OrgError } from "../../errors/org-error.ts";

const percent = (rate: number | undefined) => (rate === undefined ? "-" : `${(rate * 100).toFixed(1)} %`);

/** The table `org tool stats` prints: one line per tool, then its failures by reason; names are hostile-safe. */
export function formatToolStats(stats: readonly ToolStats[]): string {
  if (stats.length === 0) return "no generated tool calls recorded yet";
  const names = stats.map((entry) => oneLine(entry.tool).slice(0, 48));
  const width = Math.max(4, ...names.map((name) => name.length));
  const lines = [
    `${"tool".padEnd(width)}  ${"calls".padStart(6)}  ${"ok".padStart(6)}  ${"failed".padStart(6)}  ` +
      `${"input".padStart(6)}  cancelled  success    trust    p50 ms  p95 ms  last call`,
  ];
  for (const [index, entry] of stats.entries()) {
    lines.push(
      [
        (names[index] ?? "").padEnd(width),
        String(entry.calls).padStart(6),
        String(entry.ok).padStart(6),
        String(entry.failed).padStart(6),
        String(entry.input).padStart(6),
        String(entry.cancelled).padStart(9),
        percent(entry.successRate).padStart(7),
        percent(entry.trust).padStart(8),
        String(entry.latencyMs.p50).padStart(8),
        String(entry.latencyMs.p95).padStart(7),
        entry.lastCall ?? "never",
      ].join("  "),
    );
    const reasons = Object.entries(entry.failedBy).map(([reason, count]) => `${reason} ${count}`);
    if (reasons.length > 0) lines.push(`${" ".repeat(width)}  failed: ${reasons.join(", ")}`);
  }
  return lines.join("\n");
}

/** `org tool stats [NAME] [--json] [--repo DIR]`: the checkout is org's own unless --repo names another. */
export async function toolStatsCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    "tool stats",
    args,
    { json: { type: "boolean" }, repo: { type: "string" } },
    { positionals: true },
  );
  const [name] = positionals;
  if (positionals.length > 1) throw new UsageError("tool stats takes at most one NAME, e.g. tool stats word_count", "tool");
  if (name !== undefined && !TOOL_NAME_PATTERN.test(name)) throw new UsageError(`'${name}' is not a tool name (snake_case, like word_count)`, "tool");
  const repo = resolve(values.repo ?? REPO_DIR);
  // Loaded here, not at the top, so that the other `org tool` actions start without the record's reader.
  const [{ readToolCalls }, { toolStatsOf }] = await Promise.all([import("../../usage/tool-calls.ts"), import("../../usage/tool-stats.ts")]);
  const promoted = generatedToolFolders(repo).names;
  const all = toolStatsOf(readToolCalls(repo), Date.now(), promoted);
  const stats = name === undefined ? all : all.filter((entry) => entry.tool === name);
  if (name !== undefined && stats.length === 0) {
    throw new OrgError(`no calls of ${name} are recorded in ${resolve(repo, USAGE_DIR)} and it is not promoted there; see org tool list`);
  }
  console.log(values.json ? terminalSafeJson({ tools: stats }) : formatToolStats(stats));
  return 0;
}
