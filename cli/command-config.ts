import { existsSync } from "node:fs";
import { join } from "node:path";
import { CONFIG_FILE_NAME, loadOrgConfig, type OrgConfig } from "../config/org-config.ts";
import { UserFacingError } from "./command.ts";

/**
 * A command's config: `--config FILE` (which must exist), else the workspace's org.config.json (or the defaults when
 * it has none), read under `env` (the process's environment when left out).
 */
export function loadCommandConfig(path: string | undefined, workspaceDir: string, env?: NodeJS.ProcessEnv): OrgConfig {
  if (path !== undefined && !existsSync(path))
    throw new UserFacingError(`no config file at ${path}. Check the path, or leave out --config to use the defaults.`);
  return loadOrgConfig(path ?? join(workspaceDir, CONFIG_FILE_NAME), env, { workspaceDir });
}
