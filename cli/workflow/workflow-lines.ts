import { JsonSyntaxError, parseJsonWithLines } from "../../config/parse-json-with-lines.ts";
import { sanitizeForTerminal } from "../../security/terminal-sanitizer.ts";
import type { StepEvent } from "../../workflows/run-workflow.ts";
import { UsageError } from "../command/command.ts";

/** One finished or skipped step, as `workflow run` and `workflow plan --run` print it on stderr. */
export function stepLine(event: StepEvent): string {
  const where = `${sanitizeForTerminal(event.file)} › ${event.step}`;
  if (event.status === "skipped") return `– ${where}: skipped (if_condition is false)`;
  const items = event.items === undefined ? "" : ` (${event.items} item${event.items === 1 ? "" : "s"})`;
  return `✓ ${where}${items} ${Math.round(event.durationMs)} ms`;
}

/** `--inputs` as JSON; text that is not JSON is a usage error naming where it stops being JSON. */
export function parseInputs(text: string | undefined): unknown {
  if (text === undefined) return {};
  try {
    return JSON.parse(text);
  } catch (error) {
    // JSON.parse names no position; the config's parser does (it also allows comments, which JSON.parse refused).
    let where = error instanceof Error ? error.message : String(error);
    try {
      parseJsonWithLines(text);
    } catch (positioned) {
      if (positioned instanceof JsonSyntaxError)
        where = `at column ${positioned.column}${positioned.line > 1 ? ` of line ${positioned.line}` : ""}: ${positioned.problem}`;
    }
    throw new UsageError(`--inputs is not JSON (${where}); give an object such as '{"text":"hi"}'`, "workflow");
  }
}
