import { existsSync } from "node:fs";
import { join } from "node:path";
import { describeUnconfirmed } from "../../config/config-trust.ts";
import { CONFIG_FILE_NAME } from "../../config/workspace-paths.ts";
import { loadOrgConfig, type OrgConfig } from "../../config/org-config.ts";
import { shellWord } from "../../security/shell-word.ts";
import { sanitizeForTerminal } from "../../security/terminal-sanitizer.ts";
import { OrgError } from "../../errors/org-error.ts";

/**
 * A command's config: `--config FILE` (which must exist), else the workspace's org.config.json (or the defaults when
 * it has none), read under `env` (the process's environment when left out) through config's one gate. What of it waits
 * for `org config trust` is said once on stderr, unless the command says it itself (`announce: false`: the room
 * says it among its opening notices).
 */
export function loadCommandConfig(
  path: string | undefined,
  workspaceDir: string,
  env?: NodeJS.ProcessEnv,
  options: { announce?: boolean } = {},
): OrgConfig {
  if (path !== undefined && !existsSync(path))
    throw new OrgError(`no config file at ${path}. Check the path, or leave out --config to use the defaults.`);
  const config = loadOrgConfig(path ?? join(workspaceDir, CONFIG_FILE_NAME), env, { workspaceDir });
  if (options.announce !== false) announceUnconfirmed(config, workspaceDir);
  return config;
}

/** Says on stderr, in one line, what of the config waits for `org config trust`; nothing when nothing waits. */
export function announceUnconfirmed(config: OrgConfig, workspaceDir: string): void {
  const line = unconfirmedNotice(config, workspaceDir);
  if (line !== undefined) process.stderr.write(`org: ${sanitizeForTerminal(line)}\n`);
}

/** The line that says what of the config waits for `org config trust`, naming the workspace when it is not the current folder. */
export function unconfirmedNotice(config: OrgConfig, workspaceDir: string): string | undefined {
  return describeUnconfirmed(config, workspaceDir === process.cwd() ? "" : ` --workspace ${shellWord(workspaceDir)}`);
}
