import { join, resolve } from "node:path";
import { confirmationsFile } from "../../config/config-trust.ts";
import { processEnvironment } from "../../config/environment.ts";
import type { McpHub } from "../../mcp-client/mcp-hub.ts";
import type { OrgConfig } from "../../config/org-config.ts";
import { CONFIG_FILE_NAME } from "../../config/workspace-paths.ts";
import { formatRoomMode } from "../../room/room-mode.ts";
import type { Sandbox } from "../../sandbox/run-sandboxed.ts";
import type { Style } from "../terminal/ansi.ts";
import type { ChatOptions } from "./chat-args.ts";
import { type ChatSetup, type OpenedChatRoom, shownPath } from "./chat-room.ts";
import { loadCommandConfig, unconfirmedNotice } from "../command/command-config.ts";
import { changedSettings, configNotice } from "./config-watch.ts";

/** The room's config: the file (or the defaults), with --model standing where OLLAMA_MODEL would. Makes nothing. */
export function readConfig(options: ChatOptions, workspaceDir: string): OrgConfig {
  const env = processEnvironment(options.model !== undefined ? { OLLAMA_MODEL: options.model.trim() } : {});
  // The room says what waits for `org config trust` among its opening notices; --once says it on stderr, here.
  const loaded = loadCommandConfig(options.config, workspaceDir, env, { announce: options.once !== undefined });
  // --model stands where OLLAMA_MODEL would: personas whose model the config names keep it.
  return options.model === undefined
    ? loaded
    : {
        ...loaded,
        personas: loaded.personas.map((persona) =>
          persona.modelSource?.startsWith("OLLAMA_MODEL") ? { ...persona, modelSource: "--model" } : persona,
        ),
      };
}

/** The config file an open room follows: `--config FILE`, else the workspace's org.config.json (made later, too). */
function configPath(setup: ChatSetup): string {
  return resolve(setup.options.config ?? join(setup.workspaceDir, CONFIG_FILE_NAME));
}

/**
 * The files whose change makes the room read its config again: the config file, and the person's confirmations for the
 * workspace (`org config trust`), which decide what of it applies.
 */
export function configPaths(setup: ChatSetup): string[] {
  const confirmations = confirmationsFile(setup.workspaceDir, processEnvironment());
  return [configPath(setup), ...(confirmations ? [confirmations] : [])];
}

/**
 * The config file changed: read it again the way the room's start read it (`readConfig`), and when what the room runs
 * on differs, open the room again on it in the same session and mode, saying which settings changed. A file that cannot
 * be used leaves the room as it was, and says why; so does a room that will not open on the new settings.
 */
export async function reopenOnChange(
  current: OpenedChatRoom,
  setup: ChatSetup,
  parts: {
    open: (at: ChatSetup, sandbox?: Sandbox) => Promise<OpenedChatRoom>;
    say: (text: string, style?: Style) => void;
    confirm: (mcp: McpHub) => Promise<void>;
  },
): Promise<OpenedChatRoom> {
  const file = shownPath(configPath(setup));
  let config: OrgConfig;
  try {
    config = readConfig(setup.options, setup.workspaceDir);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    parts.say(configNotice.unusable(file, why), "yellow");
    return current;
  }
  const changed = changedSettings(setup.config, config);
  // What of the file waits for the person's word runs on its default meanwhile: said with each reload, as at the start.
  const waiting = unconfirmedNotice(config, setup.workspaceDir);
  if (changed.length === 0) {
    parts.say(configNotice.unchanged(file), "gray");
    if (waiting !== undefined) parts.say(`org: ${waiting}`, "yellow");
    return current;
  }
  const { room } = current;
  const mode = room.mode;
  const keepsMode = mode.kind !== "direct" || config.personas.some((entry) => entry.name === mode.persona);
  // The session goes on in the mode it is in (a resumed session's own), or in group when its persona is gone.
  const { mode: _startMode, ...options } = setup.options;
  const next: ChatSetup = { ...setup, config, options: { ...options, resume: room.sessionId } };
  await current.close();
  let opened: OpenedChatRoom;
  try {
    opened = await parts.open(next, current.sandbox);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    parts.say(
      `· ${file} changed (${changed.join(", ")}), but the room would not open on it: ${why}\n  It opens again with the settings it had.`,
      "yellow",
    );
    return await parts.open({ ...setup, options: next.options }, current.sandbox);
  }
  setup.config = config;
  setup.options = next.options;
  parts.say(
    `· ${file} changed (${changed.join(", ")}): the room opened again on it, and session ${room.sessionId} ` +
      `goes on${keepsMode ? "" : ` (${formatRoomMode(mode)} is gone: back to group mode)`}.`,
    "gray",
  );
  if (waiting !== undefined) parts.say(`org: ${waiting}`, "yellow");
  if (opened.mcp) await parts.confirm(opened.mcp);
  return opened;
}
