import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { confirmConfig } from "../config/config-trust.ts";
import { type ConfigPlace, loadOrgConfig, type OrgConfig } from "../config/org-config.ts";
import { CONFIG_FILE_NAME } from "../config/workspace-paths.ts";

/**
 * Writes `config` as the workspace's org.config.json (JSON, or the text as given) and confirms what of it would wait
 * for 'org config trust', as 'org init' confirms the file it writes: the test is the person who wrote it. The
 * confirmations go to the test run's ORG_HOME (`test-run-preload.ts`). Returns the file's path.
 */
export function writeConfirmedConfig(workspaceDir: string, config: unknown, env: NodeJS.ProcessEnv = {}): string {
  const file = join(workspaceDir, CONFIG_FILE_NAME);
  writeFileSync(file, typeof config === "string" ? config : JSON.stringify(config));
  confirmConfig(file, env, { workspaceDir, checkoutDir: workspaceDir });
  return file;
}

/**
 * The config at `path` as `loadOrgConfig` reads it under `env`, after confirming what of it would wait for 'org config
 * trust' (the test wrote it; it is the person's): for tests of what the settings do, not of the gate.
 */
export function loadConfirmedConfig(path: string, env: NodeJS.ProcessEnv = {}, place: ConfigPlace = {}): OrgConfig {
  confirmConfig(path, env, place);
  return loadOrgConfig(path, env, place);
}
