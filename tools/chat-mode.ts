import { z } from "zod";
import { type AnyTool, defineTool } from "./define-tool.ts";

/** What the chat_mode tool needs from the room. */
export type RoomModeHandle = {
  readonly mode: string;
  /** Persona names, listed in the tool's description so the model knows whom `direct:` can name. */
  readonly personas: readonly string[];
  /** Throws an error whose message says which modes are valid, or why a file path is refused. */
  setMode(mode: string, by: string): void;
};

/** The `chat_mode` tool: lets a persona switch the room's mode, as the user does with `/mode`. */
export function chatModeTool(room: RoomModeHandle): AnyTool {
  return defineTool("chat_mode", {
    description:
      `Switch where the room's conversation goes. Modes: "group" (every persona hears the user), ` +
      `"direct:<persona>" (only that persona hears the user; personas: ${room.personas.join(", ")}), ` +
      `"file:<path>" (replies are appended to that plain-text file inside the workspace: ending in .md, .txt ` +
      `or .log, no part beginning with "."). Use it only when the user asks for it.`,
    parameters: z.object({
      mode: z.string().min(1).describe('"group", "direct:<persona>" or "file:<relative path>"'),
    }),
    async execute({ mode }, context) {
      const before = room.mode;
      try {
        room.setMode(mode, context.persona ?? "a persona");
      } catch (error) {
        return { ok: false, output: `Error: ${error instanceof Error ? error.message : String(error)}` };
      }
      return before === room.mode ? `The mode was already ${room.mode}.` : `The room's mode is now ${room.mode} (was ${before}).`;
    },
  });
}
