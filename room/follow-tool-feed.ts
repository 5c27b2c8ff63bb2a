import type { Persona } from "../personas/persona.ts";
import type { RoomCore } from "./room-core.ts";
import type { RoomEvent } from "./room-event.ts";
import type { RoomTools } from "./room-tools.ts";
import type { FedTool } from "./tool-feed.ts";

/** Offers the tool feed's tools (the room's MCP servers') now and on each change, its notices as room notices; returns how to stop. */
export function followToolFeed(core: RoomCore, tools: RoomTools, emit: (event: RoomEvent) => void): (() => void) | undefined {
  const feed = core.options.toolFeed;
  if (!feed) return undefined;
  offerFedTools(core, tools, emit, feed.tools());
  return feed.subscribe((change) => {
    if (change.type === "notice") emit({ type: "notice", reason: "mcp", message: change.message });
    else offerFedTools(core, tools, emit, feed.tools());
  });
}

/** Drops the fed tool `name` (its tool and the policies it was given); false when no fed tool holds the name. */
export function dropFedTool(core: RoomCore, tools: RoomTools, name: string): boolean {
  const setFor = core.fed.get(name);
  if (!setFor) return false;
  tools.builtins.delete(name);
  for (const model of setFor) delete model.toolPolicy[name];
  core.fed.delete(name);
  return true;
}

/** The notice for a fed tool refused because the room has a tool of its name. */
export function nameTakenNotice(name: string): RoomEvent {
  return { type: "notice", reason: "mcp", message: `mcp: ${name} is not offered: the room has a tool of that name already` };
}

/**
 * The feed's tools as they are now: a new one is offered to agent personas under the policy the feed gives it, unless
 * a persona's config names it (that wins, for that persona); a gone one is no longer offered. A name the room already
 * has (a built-in, a promoted tool) keeps its tool: the fed one is refused with a notice.
 */
function offerFedTools(core: RoomCore, tools: RoomTools, emit: (event: RoomEvent) => void, next: readonly FedTool[]): void {
  const nextNames = new Set(next.map((fed) => fed.tool.name));
  for (const name of [...core.fed.keys()]) if (!nextNames.has(name)) dropFedTool(core, tools, name);
  for (const { tool, policy } of next) {
    const setFor = core.fed.get(tool.name);
    if (setFor) {
      tools.builtins.set(tool.name, tool);
      for (const model of setFor) model.toolPolicy[tool.name] = policy;
      continue;
    }
    if (tools.builtins.has(tool.name)) {
      emit(nameTakenNotice(tool.name));
      continue;
    }
    tools.builtins.set(tool.name, tool);
    const givenTo = new Set<Persona>();
    for (const model of core.models) {
      if (model.kind !== "agent" || model.toolPolicy[tool.name] !== undefined) continue;
      model.toolPolicy[tool.name] = policy;
      givenTo.add(model);
    }
    core.fed.set(tool.name, givenTo);
  }
}
