import { resolve } from "node:path";
import { instanceSettings } from "../../config/environment.ts";
import { CHECKOUT_DIR } from "../../config/workspace-paths.ts";
import { refChangeRun } from "../../cycle/ref-change-run.ts";
import { sanitizeForTerminal } from "../../security/terminal-sanitizer.ts";
import { UsageError } from "../command/command.ts";

/** The flags promote and rollback share. */
export const REF_CHANGE_FLAGS = {
  repo: { type: "string" },
  "no-restart": { type: "boolean" },
  "health-timeout-s": { type: "string" },
  config: { type: "string" },
} as const;

/** `--health-timeout-s` in milliseconds. */
export function healthTimeoutMs(value: string | undefined, command: string): number {
  if (value === undefined) return instanceSettings().startTimeoutS * 1000;
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new UsageError(`--health-timeout-s needs a positive number of seconds, got ${value}`, command);
  return seconds * 1000;
}

/**
 * The repository, journal, current instance (unless `--no-restart`) and log promote and rollback run with; the
 * log is the terminal's stdout unless another is given.
 */
export function refChangeContext(
  values: { repo?: string; "no-restart"?: boolean; config?: string },
  timeoutMs: number,
  signal: AbortSignal,
  log: (line: string) => void = (line) => console.log(sanitizeForTerminal(line)),
): { context: ReturnType<typeof refChangeRun>; restart: boolean } {
  const restart = !values["no-restart"];
  const scriptArgs = values.config === undefined ? [] : ["--config", values.config];
  const port = instanceSettings().currentPort;
  return {
    context: refChangeRun(resolve(values.repo ?? CHECKOUT_DIR), { restart, port, healthTimeoutMs: timeoutMs, scriptArgs, log, signal }),
    restart,
  };
}
