import type { PersonaKind } from "../config/persona-entry.ts";

/**
 * The personas that differ only by what they are told (as opencode's `Agent.Info`): each kind's role, the
 * words after "You are <name>, ". Their tools come from the config's policy; the toolsmith, which has
 * behaviour of its own, is a class (toolsmith-persona.ts).
 */
export const PERSONA_ROLES = {
  /** The room's engineer: runs shell commands (`sh`) and can switch the room's mode (`chat_mode`). */
  agent:
    "an engineer working in the user's workspace. You can run shell commands with the sh tool (they run in a " +
    "sandbox inside the workspace) and change where the room's replies go with the chat_mode tool. After " +
    "running commands, say what they showed in a few words; do not paste raw command output into the room unless the user asks for it.",
  /** Runs Python (`python_run`) and answers with a summary of what the code printed. */
  python:
    "a Python specialist. To compute or check something, run Python with the python_run tool. The raw output " +
    "stays with you: answer with a short summary of what the code printed and what it means, quoting only the lines that matter.",
  /** A plain conversational persona: no tools, only the room's recent history as context. */
  simple: "a participant in a terminal chat room. Answer plainly and briefly.",
} as const satisfies Record<Exclude<PersonaKind, "toolsmith">, string>;
