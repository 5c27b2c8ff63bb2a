import { existsSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import type { GuardedSetting } from "./guarded-setting.ts";
import { guardedSettings } from "./guarded-settings.ts";
import { type ConfigPlace, guardContext, type OrgConfig } from "./org-config.ts";
import { parseOrgConfigText } from "./parse-org-config-text.ts";
import { knownToolNames } from "./tool-names.ts";
import { saveTrustRecords, trustRecords, trustStoreFile, workspaceKey } from "./trust-store.ts";
import { userOrgDir } from "./user-org-dir.ts";

// `org config status` and `org config trust`: which of a workspace's guarded settings (`guarded-settings.ts`) the
// person confirmed, and recording that they confirm them now. `loadOrgConfig` reads the same records.

/** A guarded setting of the file, and whether the person confirmed it (for exactly this value, in this workspace). */
export type SettingTrust = GuardedSetting & { confirmed: boolean };

/** The guarded settings of a config file as they stand: the file, the workspace they are kept for, each setting. */
export type ConfigTrust = { file: string; workspace: string; settings: SettingTrust[] };

function homeOf(env: NodeJS.ProcessEnv, place: ConfigPlace): string | undefined {
  return "orgHome" in place ? place.orgHome : userOrgDir({ ...process.env, ...env });
}

/**
 * The file whose change confirms or withdraws a workspace's settings (what an open room follows beside its config file);
 * undefined when the environment names no folder of the user's.
 */
export function confirmationsFile(workspaceDir: string, env: NodeJS.ProcessEnv = process.env, place: ConfigPlace = {}): string | undefined {
  const home = homeOf(env, place);
  return home === undefined ? undefined : trustStoreFile(home, workspaceDir);
}

/** The guarded settings of the file at `path` (none when there is no file), each with whether it is confirmed. */
export function configTrust(path: string, env: NodeJS.ProcessEnv = process.env, place: ConfigPlace = {}): ConfigTrust {
  const workspaceDir = place.workspaceDir ?? dirname(path);
  const workspace = workspaceKey(workspaceDir);
  if (!existsSync(path)) return { file: path, workspace, settings: [] };
  const parsed = parseOrgConfigText(readFileSync(path, "utf8"), path, knownToolNames(workspaceDir, place.checkoutDir));
  const confirmed = trustRecords(homeOf(env, place), workspaceDir, "config");
  const settings = guardedSettings(parsed, guardContext(env)).map((setting) => ({ ...setting, confirmed: confirmed.has(setting.id) }));
  return { file: path, workspace, settings };
}

/**
 * Records the person's confirmation of every guarded setting of the file at `path` as it is now (each bound to its
 * value: a changed value waits again); returns those that were waiting. `org config trust` calls it, and what org writes
 * because the person asked (`org init`) is confirmed as it is written. Throws UserOrgDirError when there is nowhere to keep it.
 */
export function confirmConfig(path: string, env: NodeJS.ProcessEnv = process.env, place: ConfigPlace = {}, now = new Date()): SettingTrust[] {
  const state = configTrust(path, env, place);
  const waiting = state.settings.filter((setting) => !setting.confirmed);
  if (waiting.length === 0) return [];
  const changes = new Map(waiting.map((setting) => [setting.id, { setting: setting.setting, confirmedAt: now.toISOString() }]));
  saveTrustRecords(homeOf(env, place), place.workspaceDir ?? dirname(path), "config", changes);
  return waiting;
}

/** How many settings wait, and the command that shows and confirms them, in one line; undefined when none waits. */
export function describeUnconfirmed(config: Pick<OrgConfig, "unconfirmed" | "source">, workspaceFlag = ""): string | undefined {
  const waiting = config.unconfirmed;
  if (waiting.length === 0) return undefined;
  const shown = waiting.slice(0, 4).map((setting) => `${setting.setting} (${setting.shown})`);
  const more = waiting.length > shown.length ? ` and ${waiting.length - shown.length} more` : "";
  return (
    `${config.source ?? "org.config.json"} has ${
      waiting.length === 1 ? "a setting" : `${waiting.length} ` + `settings`
    } that ${waiting.length === 1 ? "sends" : "send"} something out or ` +
    `${waiting.length === 1 ? "lowers" : "lower"} a guard, not in effect until you confirm ` +
    `${waiting.length === 1 ? "it" : "them"}: ${shown.join(", ")}${more}. Until then org uses the defaults. ` +
    `See them with 'org config status${workspaceFlag}'; confirm them with 'org config trust${workspaceFlag}'.`
  );
}
