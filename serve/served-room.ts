import { openToolChoice, type RoomExtras, type RoomParts, roomOptions } from "../assembly/assemble-room.ts";
import type { OrgConfig } from "../config/org-config.ts";
import type { ToolsmithJob } from "../personas/toolsmith-persona.ts";
import type { Embedder } from "../registry/ollama-embedder.ts";
import { openRoom, type Room, type TranscriptIndex } from "../room/room.ts";
import type { SandboxAccess } from "../sandbox/run-sandboxed.ts";
import type { WorkspaceCopies } from "../workspace/workspace-copies.ts";
import type { AuditSink } from "../security/audit-log.ts";
import { WORKSPACE_WRITE } from "../config/tool-names.ts";
import type { ServedTools } from "./served-tools.ts";
import type { ToolFeed } from "../room/tool-feed.ts";

export type ServedRoomOptions = SandboxAccess & {
  /** Serve's sessions' private copies of the workspace (write view), made with its handler. */
  workspaceCopies: WorkspaceCopies;
  config: OrgConfig;
  workspaceDir: string;
  tools: ServedTools;
  toolsmithJob?: ToolsmithJob;
  memory?: TranscriptIndex;
  embedder?: Embedder;
  audit?: AuditSink;
  toolFeed?: ToolFeed;
  notify: (line: string) => void;
};

/**
 * How serve opens every room (sessions, jobs, the OpenAI route): the room assembly's parts for the tools
 * loaded now, with the per-turn tool choice opened once per tool generation. Audit entries carry the id of
 * the request a tool ran for.
 */
export function servedRoomOpener(options: ServedRoomOptions) {
  const { tools } = options;
  const choices = new Map<number, ReturnType<typeof openToolChoice>>();
  const choiceFor = (generation: number) => {
    let found = choices.get(generation);
    if (!found) {
      found = openToolChoice({
        config: options.config,
        checkoutDir: tools.checkoutDir,
        workspaceDir: tools.workspaceDir,
        generated: tools.generatedEntries(),
        notify: options.notify,
        ...(options.embedder ? { embedder: options.embedder } : {}),
      });
      choices.set(generation, found);
    }
    return found;
  };
  const parts = async (): Promise<RoomParts> => {
    const choice = await choiceFor(tools.generation);
    return {
      config: options.config,
      workspaceDir: options.workspaceDir,
      builtIns: tools.builtIns,
      generated: tools.generatedEntries(),
      sandbox: options.sandbox,
      sandboxPolicy: options.sandboxPolicy,
      workspaceCopies: options.workspaceCopies,
      ...(choice ? { toolChoice: choice.choice } : {}),
      ...(options.toolsmithJob ? { toolsmithJob: options.toolsmithJob } : {}),
      ...(options.memory ? { memory: options.memory } : {}),
      ...(options.toolFeed ? { toolFeed: options.toolFeed } : {}),
    };
  };
  return {
    parts,
    async open(extras: Omit<RoomExtras, "audit">, requestId: () => string | undefined): Promise<Room> {
      const { audit } = options;
      return openRoom(
        roomOptions(await parts(), {
          // Nobody can answer a question over HTTP: workspace changes are denied unless serve.tools allows them.
          workspaceWrite: options.config.serve.tools[WORKSPACE_WRITE] ?? "deny",
          ...extras,
          ...(audit ? { audit: { record: (entry) => audit.record({ ...entry, requestId: entry.requestId ?? requestId() }) } } : {}),
        }),
      );
    },
    async close(): Promise<void> {
      for (const choice of choices.values()) (await choice.catch(() => undefined))?.close();
    },
  };
}
