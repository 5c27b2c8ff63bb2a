import { toolsmithPhaseRoutes } from "../personas/model-router.ts";
import type { OrgConfig } from "../config/org-config.ts";
import { httpModels } from "../personas/persona-model.ts";
import type { MemoryStore } from "../memory/memory-store.ts";
import type { ToolsmithJob } from "../personas/toolsmith-persona.ts";
import type { Embedder } from "../registry/ollama-embedder.ts";
import { readNeedHints } from "../registry/need-hints.ts";
import type { openTurnToolChoice } from "../registry/turn-tool-choice.ts";
import type { TranscriptIndex } from "../room/room.ts";
import type { RoomOptions } from "../room/room-options.ts";
import type { Sandbox, SandboxAccess } from "../sandbox/run-sandboxed.ts";
import type { SandboxPolicy } from "../sandbox/sandbox-policy.ts";
import type { TurnToolChoice } from "../room/turn-tool-choice.ts";
import type { AnyTool } from "../tools/define-tool.ts";
import { offerToAgents } from "../generated-tools/promoted-tools.ts";
import { toolsmithJob } from "../toolsmith/toolsmith-job.ts";
import { builtInTools, type GeneratedRoomTool, promotedRoomTools, type ToolProblem } from "./room-tools.ts";
import type { ToolFeed } from "../room/tool-feed.ts";
import type { McpHub } from "../mcp-client/mcp-hub.ts";
import { WorkspaceCopies } from "../workspace/workspace-copies.ts";
import { mcpHubFor } from "./mcp-hub-for.ts";

// The one place a room is put together: chat, serve (sessions, jobs, the OpenAI route) and demo open their
// rooms from what this file hands them, so they offer the same tools under the same policies.

/** What every room of one entry point shares: the tools, the per-turn choice among them, the toolsmith, memory. */
export type RoomParts = {
  config: OrgConfig;
  workspaceDir: string;
  builtIns: readonly AnyTool[];
  generated: readonly GeneratedRoomTool[];
  /** The process's sandbox, made here once: every tool of these rooms runs in it (its probe, its bound, its pool). */
  sandbox: Sandbox;
  /** What every tool of these rooms runs under, made once from the config and the environment. */
  sandboxPolicy: SandboxPolicy;
  /** The sessions' private copies of the workspace (write view), made here once for these rooms. */
  workspaceCopies: WorkspaceCopies;
  toolChoice?: TurnToolChoice;
  toolsmithJob?: ToolsmithJob;
  memory?: TranscriptIndex;
  /** The room's MCP servers' tools, which come and go while a room is open. */
  toolFeed?: ToolFeed;
};

/** What differs between two rooms of one entry point: who listens, who approves, the session to resume. */
export type RoomExtras = Omit<
  RoomOptions,
  "config" | "workspaceDir" | "tools" | "toolChoice" | "toolsmithJob" | "memory" | "sandbox" | "sandboxPolicy" | "workspaceCopies" | "toolFeed"
>;

/** openRoom's options: the parts' tools, with the promoted ones offered to agent personas ("ask" unless the config says). */
export function roomOptions(parts: RoomParts, extras: RoomExtras): RoomOptions {
  const names = parts.generated.map((entry) => entry.tool.name);
  return {
    ...extras,
    config: { ...parts.config, personas: offerToAgents(parts.config.personas, names) },
    workspaceDir: parts.workspaceDir,
    tools: [...parts.builtIns, ...parts.generated.map((entry) => entry.tool)],
    generated: names,
    sandbox: parts.sandbox,
    sandboxPolicy: parts.sandboxPolicy,
    workspaceCopies: parts.workspaceCopies,
    ...(parts.toolChoice ? { toolChoice: parts.toolChoice } : {}),
    ...(parts.toolsmithJob ? { toolsmithJob: parts.toolsmithJob } : {}),
    ...(parts.memory ? { memory: parts.memory } : {}),
    ...(parts.toolFeed ? { toolFeed: parts.toolFeed } : {}),
    // The personas' models, with their servers' credentials, are made here once for the room.
    models: extras.models ?? httpModels(parts.config),
  };
}

/**
 * Per-turn tool choice over the promoted tools when they are more than `limits.generatedToolsPerTurn` (the
 * registry of `checkoutDir` ranks them); undefined when all fit or the index cannot be opened. Its notices go to `notify`.
 */
export async function openToolChoice(options: {
  config: OrgConfig;
  checkoutDir: string;
  /** Whose `org grow` hints (needs a promoted tool covers) put that tool first for a message like the need. */
  workspaceDir?: string;
  generated: readonly GeneratedRoomTool[];
  embedder?: Embedder;
  notify: (line: string) => void;
  signal?: AbortSignal;
}): Promise<{ choice: TurnToolChoice; close(): void } | undefined> {
  // All fit: no choice to make, and the registry's index (its code and its database) is not opened at all.
  if (options.generated.length <= options.config.limits.generatedToolsPerTurn) return undefined;
  let opened: Awaited<ReturnType<typeof openTurnToolChoice>>;
  try {
    const { openTurnToolChoice } = await import("../registry/turn-tool-choice.ts");
    opened = await openTurnToolChoice({
      repoDir: options.checkoutDir,
      generated: options.generated.map((entry) => entry.tool.name),
      perTurn: options.config.limits.generatedToolsPerTurn,
      ...(options.workspaceDir !== undefined ? { hints: readNeedHints(options.workspaceDir) } : {}),
      ...(options.embedder ? { embedder: options.embedder } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (error) {
    // Without the registry every allowed tool is offered, as with few tools: the room still opens.
    options.notify(
      `registry: could not open the tool index (${error instanceof Error ? error.message : String(error)}); ` +
        `every allowed tool is offered instead; the next start tries again.`,
    );
    return undefined;
  }
  for (const notice of opened?.notices ?? []) options.notify(`registry: ${notice}`);
  return opened ? { choice: opened.choice, close: () => opened.close() } : undefined;
}

/** What a room is assembled from; `sandbox` and `sandboxPolicy` are the entry point's (`sandboxAccessFrom`). */
export type RoomAssemblyOptions = SandboxAccess & {
  config: OrgConfig;
  /** Where `.org/` lives; its `tools/generated/` is read first. */
  workspaceDir: string;
  /** org's checkout: its promoted tools, its registry, and (unless `toolsmith.repoDir` says) the toolsmith's branches. */
  checkoutDir: string;
  /** Where the toolsmith lands candidates and how its try-it hint starts org; false: no toolsmith job. */
  toolsmith?: { repoDir?: string; hintRepo?: string; invocation?: string } | false;
  memory?: MemoryStore;
  embedder?: Embedder;
  /** Said once, for a person: skipped tools, registry notices. */
  notify: (line: string) => void;
  signal?: AbortSignal;
};

export type RoomAssembly = RoomParts & {
  problems: readonly ToolProblem[];
  /** The room's MCP servers (`mcpServers`), started; undefined when the config names none. */
  mcp?: McpHub;
  /** openRoom's options for one room of this entry point. */
  options(extras: RoomExtras): RoomOptions;
  close(): void;
};

/** Everything a room is opened with, from one config, workspace and checkout. */
export async function assembleRoom(options: RoomAssemblyOptions): Promise<RoomAssembly> {
  const { config, workspaceDir, checkoutDir, memory, embedder, sandbox, sandboxPolicy } = options;
  const mcp = await mcpHubFor({ config, workspaceDir, sandbox, sandboxPolicy, notify: options.notify });
  const builtIns = builtInTools({ config, checkoutDir, ...(memory ? { memory } : {}), ...(embedder ? { embedder } : {}), ...(mcp ? { mcp } : {}) });
  const { generated, problems } = promotedRoomTools(
    [workspaceDir, checkoutDir],
    builtIns.map((tool) => tool.name),
  );
  for (const problem of problems) options.notify(`skipping generated tool ${problem.name}: ${problem.problem}`);
  const choice = await openToolChoice({
    config,
    checkoutDir,
    workspaceDir,
    generated,
    notify: options.notify,
    ...(embedder ? { embedder } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const smith = options.toolsmith === false ? undefined : (options.toolsmith ?? {});
  const parts: RoomParts = {
    config,
    workspaceDir,
    builtIns,
    generated,
    sandbox,
    sandboxPolicy,
    workspaceCopies: new WorkspaceCopies(),
    ...(choice ? { toolChoice: choice.choice } : {}),
    ...(smith
      ? {
          toolsmithJob: toolsmithJob({
            repoDir: smith.repoDir ?? checkoutDir,
            records: async () => (await import("../fitness/toolsmith-records.ts")).toolsmithRecords,
            settings: config.toolsmith,
            routePhase: toolsmithPhaseRoutes(config),
            sandbox,
            sandboxPolicy,
            ...(smith.hintRepo !== undefined ? { hintRepo: smith.hintRepo } : {}),
            ...(smith.invocation !== undefined ? { invocation: smith.invocation } : {}),
          }),
        }
      : {}),
    ...(memory ? { memory } : {}),
    ...(mcp ? { toolFeed: mcp } : {}),
  };
  return {
    ...parts,
    problems,
    ...(mcp ? { mcp } : {}),
    options: (extras) => roomOptions(parts, extras),
    close: () => {
      choice?.close();
      mcp?.closeNow();
    },
  };
}

/** Each persona's policy per tool in a room of these parts: what it may run, what it would ask, what it may not. */
export function roomPolicies(parts: RoomParts): { name: string; tools: Record<string, string> }[] {
  const names = parts.generated.map((entry) => entry.tool.name);
  return offerToAgents(parts.config.personas, names).map((persona) => ({ name: persona.name, tools: { ...persona.tools } }));
}
