import { join, relative } from "node:path";
import type { OrgConfig } from "../../config/org-config.ts";
import { AUDIT_DIR } from "../../config/workspace-paths.ts";
import type { RoomEvent } from "../../room/room-event.ts";
import { RoomModeError } from "../../room/room-mode.ts";
import { openRoom, type Room } from "../../room/room.ts";
import { AuditLog } from "../../security/audit-log.ts";
import type { ChatOptions } from "./chat-args.ts";
import { UsageError } from "../command/command.ts";
import { deadServerMessage } from "../command/model-server-probe.ts";
import { missingModelMessages, probeServers } from "../../personas/server-probe.ts";
import { orgInvocation, REPO_DIR } from "../command/org-invocation.ts";
import { sanitizeForTerminal } from "../../security/terminal-sanitizer.ts";
import { standardOutput } from "../terminal/standard-output.ts";
import { assembleRoom } from "../../assembly/assemble-room.ts";
import { sandboxAccessFrom } from "../../assembly/sandbox-policy-from.ts";
import { embedderFromEnvironment } from "../../registry/ollama-embedder.ts";
import type { LocalApprove } from "../../room/room-approvals.ts";
import { openMemoryForRoom } from "../../memory/open-memory.ts";
import type { MemoryStore } from "../../memory/memory-store.ts";
import { formatMemoryOutcome } from "../terminal/format-memory-outcome.ts";
import type { AnyTool } from "../../tools/define-tool.ts";
import type { McpHub } from "../../mcp-client/mcp-hub.ts";
import type { Sandbox } from "../../sandbox/run-sandboxed.ts";

// The room of `org chat`, shared by the console (chat-command.ts) and one turn from a script (chat-once.ts).

/** Everything a chat run sets up before the first message. */
export type ChatSetup = { options: ChatOptions; workspaceDir: string; config: OrgConfig; color: boolean };

/** The first server nobody answers at, with the reason (undefined when all answer), and each persona whose model its server lacks. */
export async function checkServers(config: OrgConfig, signal: AbortSignal): Promise<{ dead: string | undefined; missing: string[] }> {
  const results = await probeServers(config, signal);
  const dead = results.find((result) => !result.reachable);
  return {
    dead: dead && !dead.reachable ? deadServerMessage(dead.server, dead.error) : undefined,
    missing: missingModelMessages(config.personas, results),
  };
}

/** An open chat room and what came with it; `close` ends them all (a room opened again on a new config does). */
export type OpenedChatRoom = {
  room: Room;
  memory: MemoryStore | undefined;
  stopWatching: () => void;
  mcp: McpHub | undefined;
  /** The process's one Sandbox, which a room opened again in it keeps (its probe, bound and pool). */
  sandbox: Sandbox;
  close(): Promise<void>;
};

/** Chat's room, from the room assembly; `checkoutDir` (org's checkout) is where promoted tools and the toolsmith's branches are. */
export async function openChatRoom(
  setup: ChatSetup,
  approve: LocalApprove,
  onEvent: (event: RoomEvent) => void,
  opening: {
    /** org's checkout: REPO_DIR unless a test names another. */
    checkoutDir?: string;
    /** Where org's own notices go (skipped tools, memory, a checkout that moved): stderr unless the console takes them. */
    notify?: (line: string) => void;
    /** The Sandbox of the room this one replaces, when it is opened again in the same process. */
    sandbox?: Sandbox;
    /** false for a room that sends no turn (`--once /command`): sh starts no sandbox ahead for it. */
    prepareTools?: boolean;
    /** The session's "always" answers, which a room opened again on it (a config change) keeps. */
    alwaysAllowed?: Set<string>;
  } = {},
): Promise<OpenedChatRoom> {
  const { checkoutDir = REPO_DIR, sandbox } = opening;
  const notify = opening.notify ?? ((line: string) => standardOutput(2).write(`org: ${sanitizeForTerminal(line)}\n`));
  const memory = openMemoryForRoom(setup.workspaceDir, notify, setup.config.secrets);
  if (memory) process.once("exit", () => memory.close());
  // The same assembly as serve and demo: built-ins, memory, promoted tools of the workspace and the checkout.
  const embedder = embedderFromEnvironment();
  const access = sandboxAccessFrom({ config: setup.config });
  const assembly = await assembleRoom({
    config: setup.config,
    workspaceDir: setup.workspaceDir,
    checkoutDir,
    sandbox: sandbox ?? access.sandbox,
    sandboxPolicy: access.sandboxPolicy,
    toolsmith: { invocation: orgInvocation() },
    notify,
    ...(memory ? { memory } : {}),
    ...(embedder ? { embedder } : {}),
  });
  process.once("exit", () => assembly.close());
  const room = await openRoom(
    assembly.options({
      audit: new AuditLog(join(setup.workspaceDir, AUDIT_DIR)),
      approve,
      ...(setup.options.resume !== undefined ? { resume: setup.options.resume } : {}),
      ...(opening.prepareTools === false ? { prepareTools: false } : {}),
      ...(opening.alwaysAllowed ? { alwaysAllowed: opening.alwaysAllowed } : {}),
      onEvent,
    }),
  );
  if (setup.options.mode !== undefined) {
    try {
      room.setMode(setup.options.mode);
    } catch (error) {
      await room.close();
      if (error instanceof RoomModeError) throw new UsageError(`--mode: ${error.message}`, "chat");
      throw error;
    }
  }
  const stopWatching = await watchPromotions(room, checkoutDir, setup.workspaceDir, assembly.builtIns, notify);
  process.once("exit", stopWatching);
  return {
    room,
    memory,
    stopWatching,
    mcp: assembly.mcp,
    sandbox: assembly.sandbox,
    async close() {
      stopWatching();
      await room.close();
      await assembly.mcp?.close();
      assembly.close();
      memory?.close();
    },
  };
}

/**
 * Follows the checkout's event stream while the room is open, as serve does: after a promotion or rollback the room
 * offers the promoted tools as they are now (a notice in the room names each change). Returns how to stop.
 */
async function watchPromotions(
  room: Room,
  checkoutDir: string,
  workspaceDir: string,
  builtIns: readonly AnyTool[],
  notify: (line: string) => void,
): Promise<() => void> {
  const { ServedTools } = await import("../../serve/served-tools.ts");
  const promoted = await ServedTools.open(checkoutDir, builtIns, workspaceDir);
  // A promotion between the room's assembly and now is taken at once.
  room.offerPromotedTools(promoted.generated());
  promoted.follow((result) => {
    if (result.restartNeeded)
      notify(`the checkout moved to code this chat does not run: ${result.restartNeeded.replace(/ \(ops\/start-current\.sh restarts it\)/, "")}`);
    else room.offerPromotedTools(promoted.generated());
  });
  return () => promoted.stop();
}

export function personaColors(config: OrgConfig): Record<string, string> {
  const colors: Record<string, string> = {};
  for (const persona of config.personas) if (persona.color) colors[persona.name] = persona.color;
  return colors;
}

/** The terminal's width when stdout is one; a pipe gets lines unwrapped. */
export function terminalColumns(): number | undefined {
  return standardOutput(1).columns();
}

export function shownPath(path: string): string {
  const shown = relative(process.cwd(), path);
  return shown.startsWith("..") ? path : shown;
}

/** The `recall` of /recall: the workspace's memory searched (with embeddings when configured); undefined without memory. */
export function memoryRecall(memory: MemoryStore | undefined): ((query: string, signal: AbortSignal) => Promise<string>) | undefined {
  if (!memory) return undefined;
  const embedder = embedderFromEnvironment();
  return async (query, signal) => formatMemoryOutcome(await memory.search(query, { limit: 8, signal, ...(embedder ? { embedder } : {}) }));
}
