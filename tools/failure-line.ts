import { oneLine } from "../security/terminal-sanitizer.ts";

/** How long the audit log's line of what a failed call said may be. */
const MAX_FAILURE_LINE = 300;
const READS_AS_ERROR = /\b(error|errors|failed|failure|fatal|exception|cannot|could not|refused|denied|not found|no such|timed out|invalid)\b/i;

/**
 * What a failed call said, as one line for the audit log (the supervisor groups repeated failures by it): a tool's own
 * answer (`Error: …`, its first line), else the last line of the command's stderr that reads as an error, else its last
 * line, else the last such line of the output, else the output's first line. One line, control characters shown as
 * escapes, at most 300 characters. Give it redacted text.
 */
export function failureLine(output: string, data?: unknown): string {
  const stderr = typeof data === "object" && data !== null && "stderr" in data && typeof data.stderr === "string" ? data.stderr : "";
  const pick = (text: string) => {
    const lines = text
      .split(/\r?\n/)
      .map((line) => line.trim())
      .filter((line) => line !== "");
    return lines.findLast((line) => READS_AS_ERROR.test(line)) ?? lines.at(-1);
  };
  const first = output.split(/\r?\n/).find((line) => line.trim() !== "") ?? "";
  if (first.startsWith("Error: ")) return oneLine(first, MAX_FAILURE_LINE);
  const outputLines = output.split(/\r?\n/).filter((line) => !/^(exit code|stdout|stderr):/.test(line.trim()));
  const chosen = pick(stderr) ?? (outputLines.some((line) => READS_AS_ERROR.test(line)) ? pick(outputLines.join("\n")) : undefined) ?? first;
  return oneLine(chosen, MAX_FAILURE_LINE);
}
