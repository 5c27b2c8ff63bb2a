import { Model } from "./model.ts";

/** The room's engineer: runs shell commands (`sh`) and can switch the room's mode (`chat_mode`). */
export class AgentModel extends Model {
  protected role(): string {
    return "an engineer working in the user's workspace. You can run shell commands with the sh tool (they run in a sandbox inside the workspace) and change where the room's replies go with the chat_mode tool. After running commands, say what they showed in a few words; do not paste raw command output into the room unless the user asks for it.";
  }
}
