import type { Persona } from "../personas/persona.ts";
import { chatModeTool } from "../tools/chat-mode.ts";
import type { AnyTool } from "../tools/define-tool.ts";
import type { RoomCore } from "./room-core.ts";
import { formatRoomMode } from "./room-mode.ts";

/** The built-in tools by name, with the room's own `chat_mode`; and what a persona's policy lets it use of them. */
export function roomTools(core: RoomCore, setMode: (next: string, by?: string) => void) {
  const modeHandle = {
    get mode() {
      return formatRoomMode(core.state.mode);
    },
    personas: core.names,
    setMode,
  };
  const builtins = new Map<string, AnyTool>();
  // The first tool of a name wins: a promoted tool named like a built-in never takes its place.
  for (const tool of core.options.tools) if (!builtins.has(tool.name)) builtins.set(tool.name, tool);
  builtins.set("chat_mode", chatModeTool(modeHandle));
  const offered = (model: Persona) =>
    Object.entries(model.toolPolicy)
      .filter(([name, policy]) => policy !== "deny" && builtins.has(name))
      .map(([name]) => name);
  const forModel = (model: Persona) => {
    const tools = new Map<string, AnyTool>();
    for (const name of offered(model)) {
      const tool = builtins.get(name);
      if (tool) tools.set(name, tool);
    }
    return tools;
  };
  return { builtins, offered, forModel };
}

/** Lets each tool some persona may use do its work ahead of the first call (the sh tool starts its sandbox). */
export function prepareOfferedTools(core: RoomCore, tools: ReturnType<typeof roomTools>): void {
  const offered = new Set(core.models.flatMap((model) => tools.offered(model)));
  for (const name of offered)
    tools.builtins.get(name)?.prepare?.({
      workspaceDir: core.workspaceDir,
      sessionId: core.sessionId,
      sandbox: core.options.sandbox,
      sandboxPolicy: core.options.sandboxPolicy,
      workspaceCopies: core.options.workspaceCopies,
    });
}

/** Lets each built-in tool end what the room's session started (the browser tool closes its browser); never throws. */
export async function releaseTools(core: RoomCore, tools: ReturnType<typeof roomTools>): Promise<void> {
  const session = {
    workspaceDir: core.workspaceDir,
    sessionId: core.sessionId,
    sandbox: core.options.sandbox,
    sandboxPolicy: core.options.sandboxPolicy,
    workspaceCopies: core.options.workspaceCopies,
  };
  await Promise.all([...tools.builtins.values()].map((tool) => tool.release?.(session).catch(() => undefined)));
}

/** The room's tools: the built-ins by name, and what each persona is offered of them. */
export type RoomTools = ReturnType<typeof roomTools>;
