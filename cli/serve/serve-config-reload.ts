import { join, relative, resolve } from "node:path";
import { sandboxPolicyFrom } from "../../assembly/sandbox-policy-from.ts";
import { confirmationsFile } from "../../config/config-trust.ts";
import { processEnvironment } from "../../config/environment.ts";
import type { OrgConfig } from "../../config/org-config.ts";
import { CONFIG_FILE_NAME } from "../../config/workspace-paths.ts";
import type { SandboxPolicy } from "../../sandbox/sandbox-policy.ts";
import type { RoomConfig } from "../../serve/room-config.ts";
import { loadCommandConfig, unconfirmedNotice } from "../command/command-config.ts";
import { CONFIG_CHECK_MS, changedSettings, configNotice, watchConfigFile } from "../chat/config-watch.ts";

/** Settings the server, not a room, runs on: taken when `org web` starts again. */
const SERVER_SETTINGS = ["serve.", "network.", "web.", "telegram.", "toolsmith.", "mcp.", "mcpServers"];

/** A path as the terminal room names it: relative to the current folder when inside it. */
function shownPath(path: string): string {
  const shown = relative(process.cwd(), path);
  return shown.startsWith("..") ? path : shown;
}

/** What a reload of `org web`'s config needs: where the file is, what the rooms run on now, and where to say it. */
export type ServeConfigReload = {
  /** `--config FILE`, else the workspace's org.config.json. */
  configFile: string | undefined;
  workspaceDir: string;
  roomConfig: RoomConfig;
  /** Says a line in every open room (the session pool's `notice`). */
  say: (message: string) => void;
  /** Writes a line to the server's log. */
  log: (line: string) => void;
  /** The environment the config is read under (the process's unless a test gives one). */
  env?: NodeJS.ProcessEnv;
  /** The sandbox policy of a config as the start made it (`sandboxPolicyFrom` unless a test gives its own). */
  sandboxPolicy?: (config: OrgConfig) => SandboxPolicy;
};

/** The files whose change makes `org web` read its config again: the file, and the person's `org config trust` record. */
export function serveConfigPaths(reload: Pick<ServeConfigReload, "configFile" | "workspaceDir" | "env">): string[] {
  const confirmations = confirmationsFile(reload.workspaceDir, reload.env ?? processEnvironment());
  return [resolve(reload.configFile ?? join(reload.workspaceDir, CONFIG_FILE_NAME)), ...(confirmations ? [confirmations] : [])];
}

/**
 * The config changed: read it again as the start read it (the same trust rules: what waits for `org config trust` runs
 * on its default), and when what a room runs on differs, open each room again on it before its next turn (its session
 * goes on), saying which settings changed, in every open room and in the log, as the terminal room says it. A file that
 * cannot be used leaves the rooms as they were, and says why.
 */
export function reloadServeConfig(reload: ServeConfigReload): void {
  const { roomConfig, workspaceDir } = reload;
  const file = shownPath(serveConfigPaths(reload)[0] ?? CONFIG_FILE_NAME);
  const say = (line: string) => {
    reload.say(line);
    reload.log(line);
  };
  let config: OrgConfig;
  try {
    config = loadCommandConfig(reload.configFile, workspaceDir, reload.env ?? processEnvironment(), { announce: false });
  } catch (error) {
    say(configNotice.unusable(file, error instanceof Error ? error.message : String(error)));
    return;
  }
  const changed = changedSettings(roomConfig.config, config);
  const waiting = unconfirmedNotice(config, workspaceDir);
  if (changed.length === 0) {
    say(configNotice.unchanged(file));
  } else {
    roomConfig.replace(config, (reload.sandboxPolicy ?? ((next) => sandboxPolicyFrom({ config: next })))(config));
    const atStart = changed.filter((setting) => SERVER_SETTINGS.some((prefix) => setting.startsWith(prefix)));
    say(
      `· ${file} changed (${changed.join(", ")}): the room opens again on it before its next turn, and its session goes on` +
        (atStart.length > 0 ? ` (${atStart.join(", ")}: the server's own, taken when org web starts again).` : "."),
    );
  }
  if (waiting !== undefined) say(`org: ${waiting}`);
}

/** Follows the config while `org web` runs (looked at every second, as the terminal room does); returns how to stop. */
export function followServeConfig(reload: ServeConfigReload): () => void {
  return watchConfigFile(serveConfigPaths(reload), CONFIG_CHECK_MS, () => reloadServeConfig(reload));
}
