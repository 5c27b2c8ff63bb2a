import { resolve } from "node:path";
import { instanceSettings } from "../config/environment.ts";
import { CHECKOUT_DIR } from "../config/workspace-paths.ts";
import { PromotionJournal } from "../git/journal.ts";
import type { RefChangeContext } from "../git/ref-change.ts";
import { RepoGit } from "../git/repo-git.ts";
import { sanitizeForTerminal } from "../security/terminal-sanitizer.ts";
import { UsageError } from "./command.ts";
import { currentInstance } from "./current-instance.ts";

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
): { context: RefChangeContext; restart: boolean } {
  const git = new RepoGit(resolve(values.repo ?? CHECKOUT_DIR));
  const restart = !values["no-restart"];
  const port = instanceSettings().currentPort;
  const current = restart ? currentInstance(git.repoDir, port, timeoutMs, log, values.config === undefined ? [] : ["--config", values.config]) : undefined;
  return { context: { git, journal: new PromotionJournal(git.repoDir), current, log, signal }, restart };
}
