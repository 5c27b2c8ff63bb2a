import { toolRouteModel } from "../personas/model-router.ts";
import type { RoomMessage } from "../personas/room-message.ts";
import { serversExecutedPaths } from "../mcp-client/servers-executed-paths.ts";
import { heardBy } from "./heard-by.ts";
import type { RoomApprovals } from "./room-approvals.ts";
import type { RoomCore } from "./room-core.ts";
import type { RoomEvent } from "./room-event.ts";
import type { RoomTools } from "./room-tools.ts";
import type { ReplyRoom } from "./run-reply.ts";
import type { FifoSemaphore } from "../concurrency/fifo-semaphore.ts";
import type { RoomCompactions } from "./compactions.ts";

/**
 * What a persona answers from: the room up to the message it answers, with that message last. Replies
 * that others gave meanwhile stay out (a queued persona answers the same thing as one that streamed at
 * once); its own later replies stay in, before the message, so it does not repeat itself.
 */
function contextFor(history: RoomMessage[], persona: string, trigger: RoomMessage): RoomMessage[] {
  const index = history.indexOf(trigger);
  const kept = (messages: RoomMessage[]) => messages.filter((message) => message.undone === undefined);
  if (index === -1) return kept(history);
  const own = history.slice(index + 1).filter((message) => message.from === persona);
  return kept([...history.slice(0, index), ...own, trigger]);
}

/** What a reply needs of the room (run-reply.ts). */
export function replyRoomOf(
  core: RoomCore,
  emit: (event: RoomEvent) => void,
  tools: RoomTools,
  approvals: RoomApprovals,
  parts: { slots: (server: string) => FifoSemaphore; compactions: RoomCompactions },
): ReplyRoom {
  const { config, options } = core;
  return {
    emit,
    mode: () => core.state.mode,
    names: core.names,
    workspaceDir: core.workspaceDir,
    protectedFiles: core.protectedFiles,
    configFile: config.source,
    routeAfterTool: (tool, base) => toolRouteModel(config, tool, base),
    secrets: config.secrets,
    outboundSecrets: core.outboundSecrets,
    sessionId: core.sessionId,
    limits: config.limits,
    budget: core.budget,
    ...(options.audit ? { audit: options.audit } : {}),
    sandbox: options.sandbox,
    sandboxPolicy: options.sandboxPolicy,
    workspaceCopies: options.workspaceCopies,
    approver: approvals,
    workspaceWrite: {
      workspaceDir: core.workspaceDir,
      sessionId: core.sessionId,
      policy: config.sandbox.workspaceWrite,
      ...(options.workspaceWrite ? { entryPolicy: options.workspaceWrite } : {}),
      secrets: config.secrets,
      protectedPaths: core.changeRules.protectedPaths,
      secretPaths: core.changeRules.secretPaths,
      executedPaths: serversExecutedPaths(config.mcpServers, core.workspaceDir),
      limits: config.limits,
      approver: approvals,
      emit,
      setLastDiff: (diff) => {
        core.lastDiff = diff;
      },
    },
    slots: parts.slots,
    tools: tools.forModel,
    ...(options.toolChoice ? { toolChoice: options.toolChoice } : {}),
    context: (persona, trigger) => contextFor(core.state.history, persona, trigger),
    promptKeeping: (persona) => parts.compactions.keeping(persona),
    heardBy: (speaker, mentions) => heardBy(core, speaker, mentions),
    record: (message) => core.state.history.push(message),
  };
}
