import { shellWord } from "../security/shell-word.ts";
import { terminalSafeJson } from "../security/terminal-safe-json.ts";

/**
 * The command that runs a new candidate tool once on its spec's first example, quoted so that a POSIX shell
 * runs it as printed (`invocation` is already a shell word: `org`, or the launcher's quoted path).
 */
export function tryItCommand(tool: { invocation: string; name: string; branch: string; input: unknown; repo?: string }): string {
  const repo = tool.repo === undefined ? "" : ` --repo ${shellWord(tool.repo)}`;
  return `${tool.invocation} tool run ${tool.name} --ref ${tool.branch}${repo} --inputs ${shellWord(terminalSafeJson(tool.input))}`;
}
