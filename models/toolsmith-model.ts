import type { RoomMessage } from "./room-message.ts";
import { Model } from "./model.ts";

export const TOOLSMITH_NOT_BUILT =
  "I can't write tools yet: my tool-writing pipeline (spec, code, tests, sandboxed validation, a candidate branch and a fitness gate) is not built in this version of org. Nothing was written or installed. Until it exists, @agent can often do the job with its shell, or I can describe what such a tool should take and return.";

const ASKS_FOR_A_TOOL = /\b(write|make|build|create|generate|add|implement|develop)\b[^.?!\n]*\btools?\b/i;

/** Will write new tools; until that pipeline exists it says so plainly instead of pretending. */
export class ToolsmithModel extends Model {
  protected role(): string {
    return "the toolsmith of this room. Writing new tools for the room will be your job, but the tool-writing pipeline is not built yet in this version of org: you cannot create, test or install tools. When asked for a tool, say plainly that you cannot build it yet and describe what the tool should take and return. Never claim to have written, tested or installed anything.";
  }

  /** A request for a tool gets the honest fixed answer, not a model that might pretend. */
  override cannedReply(message: RoomMessage): string | undefined {
    return ASKS_FOR_A_TOOL.test(message.text) ? TOOLSMITH_NOT_BUILT : undefined;
  }
}
