import { openToolChoice, type RoomExtras, type RoomParts, roomOptions } from "../assembly/assemble-room.ts";
import type { OrgConfig } from "../config/org-config.ts";
import type { ToolsmithJob } from "../personas/toolsmith-persona.ts";
import type { Embedder } from "../registry/ollama-embedder.ts";
import { openRoom, type Room, type TranscriptIndex } from "../room/room.ts";
import type { SandboxAccess } from "../sandbox/run-sandboxed.ts";
import type { WorkspaceCopies } from "../workspace/workspace-copies.ts";
import type { AuditSink } from "../security/audit-log.ts";
import type { ServedTools } from "./served-tools.ts";
import type { ToolFeed } from "../room/tool-feed.ts";
import { entryWorkspaceWrite, type RoomPolicySource } from "./http-tool-policy.ts";
import type { RoomConfig } from "./room-config.ts";

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
  /** The config and sandbox policy as `org web` last read them (replaced on an edit); without it `config` and `sandboxPolicy`. */
  roomConfig?: RoomConfig;
};

/**
 * How serve opens every room (sessions, jobs, the OpenAI route): the room assembly's parts for the tools
 * loaded now, with the per-turn tool choice opened once per tool generation. Audit entries carry the id of
 * the request a tool ran for.
 */
export function servedRoomOpener(options: ServedRoomOptions) {
  const { tools, roomConfig } = options;
  const current = () => (roomConfig ? { config: roomConfig.config, sandboxPolicy: roomConfig.sandboxPolicy } : options);
  /** Changes when the promoted tools or the config do: a room opened before is opened again before its next turn. */
  const generation = () => tools.generation + (roomConfig?.generation ?? 0);
  const choices = new Map<number, ReturnType<typeof openToolChoice>>();
  const choiceFor = (at: number) => {
    let found = choices.get(at);
    if (!found) {
      found = openToolChoice({
        config: current().config,
        checkoutDir: tools.checkoutDir,
        workspaceDir: tools.workspaceDir,
        generated: tools.generatedEntries(),
        notify: options.notify,
        ...(options.embedder ? { embedder: options.embedder } : {}),
      });
      choices.set(at, found);
    }
    return found;
  };
  const parts = async (): Promise<RoomParts> => {
    const choice = await choiceFor(generation());
    const { config, sandboxPolicy } = current();
    return {
      config,
      workspaceDir: options.workspaceDir,
      builtIns: tools.builtIns,
      generated: tools.generatedEntries(),
      sandbox: options.sandbox,
      sandboxPolicy,
      workspaceCopies: options.workspaceCopies,
      ...(choice ? { toolChoice: choice.choice } : {}),
      ...(options.toolsmithJob ? { toolsmithJob: options.toolsmithJob } : {}),
      ...(options.memory ? { memory: options.memory } : {}),
      ...(options.toolFeed ? { toolFeed: options.toolFeed } : {}),
    };
  };
  return {
    parts,
    generation,
    /** A room under the tool policies of `policies` (http-tool-policy.ts): serve's own unless the front end says "room". */
    async open(extras: Omit<RoomExtras, "audit">, requestId: () => string | undefined, policies: RoomPolicySource = "serve"): Promise<Room> {
      const { audit } = options;
      const opened = await parts();
      const workspaceWrite = entryWorkspaceWrite(opened.config.serve, policies);
      return openRoom(
        roomOptions(opened, {
          ...(workspaceWrite ? { workspaceWrite } : {}),
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
