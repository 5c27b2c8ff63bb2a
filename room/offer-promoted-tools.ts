import type { AnyTool } from "../tools/define-tool.ts";
import { dropFedTool, nameTakenNotice } from "./follow-tool-feed.ts";
import type { RoomCore } from "./room-core.ts";
import type { RoomEvent } from "./room-event.ts";
import type { RoomTools } from "./room-tools.ts";

/** `Room.offerPromotedTools`: the room's tools and agents' policies brought to `next`, with a notice per change. */
export function offerPromotedTools(
  core: RoomCore,
  tools: RoomTools,
  emit: (event: RoomEvent) => void,
  next: readonly AnyTool[],
): { added: string[]; removed: string[] } {
  const nextNames = new Set(next.map((tool) => tool.name));
  const removed = [...core.generated].filter((name) => !nextNames.has(name));
  for (const name of removed) {
    tools.builtins.delete(name);
    core.generated.delete(name);
  }
  const added: string[] = [];
  for (const tool of next) {
    if (core.generated.has(tool.name)) {
      tools.builtins.set(tool.name, tool);
      continue;
    }
    // A built-in keeps its name; a promoted tool of the same name is never offered (as when the room opens). A server's
    // tool gives the name up: it never takes a promoted tool's, however late the promotion.
    if (tools.builtins.has(tool.name) && !releaseFedName(core, tools, emit, tool.name)) continue;
    tools.builtins.set(tool.name, tool);
    core.generated.add(tool.name);
    added.push(tool.name);
    for (const model of core.models) if (model.kind === "agent" && model.toolPolicy[tool.name] === undefined) model.toolPolicy[tool.name] = "ask";
  }
  for (const name of added) {
    const offeredTo = core.models.filter((model) => tools.offered(model).includes(name));
    const asks = offeredTo.length > 0 && offeredTo.every((model) => model.toolPolicy[name] === "ask");
    const who = offeredTo.length === 0 ? " (no persona's policy offers it)" : asks ? " (asks first)" : "";
    emit({ type: "notice", reason: "tools-changed", message: `new tool: ${name}${who}` });
  }
  for (const name of removed) emit({ type: "notice", reason: "tools-changed", message: `tool gone: ${name} (rolled back)` });
  return { added, removed };
}

/** Takes a fed tool's name away from it (a promoted tool wants it): false when no fed tool holds the name. */
function releaseFedName(core: RoomCore, tools: RoomTools, emit: (event: RoomEvent) => void, name: string): boolean {
  if (!dropFedTool(core, tools, name)) return false;
  emit(nameTakenNotice(name));
  return true;
}
