import { z } from "zod";
import { WindowTokens } from "../llm/model-window.ts";
import { PersonaServerFields } from "../llm/persona-server.ts";
import { ToolPolicy } from "./tool-policy.ts";

export const PersonaKind = z.enum(["agent", "python", "toolsmith", "simple"]);
export type PersonaKind = z.infer<typeof PersonaKind>;

export const PersonaColor = z.enum(["red", "green", "yellow", "blue", "magenta", "cyan", "white", "gray"]);
export type PersonaColor = z.infer<typeof PersonaColor>;

const personaName = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{0,31}$/, "a persona name is 1–32 lowercase letters, digits, '-' or '_', starting with a letter")
  .refine((name) => name !== "user" && name !== "all", "'user' and 'all' are reserved; pick another name");

/** One persona as `org.config.json` gives it. */
export const PersonaEntry = z.strictObject({
  name: personaName,
  kind: PersonaKind,
  model: z.string().min(1).optional(),
  ...PersonaServerFields,
  /** Policy per tool name (built-in or generated); a tool not listed is denied. */
  tools: z.record(z.string().min(1), ToolPolicy).optional(),
  instructions: z.string().optional(),
  color: PersonaColor.optional(),
  contextMessages: z.int().min(2).max(10_000).optional(),
  /** The model's window in tokens when its server does not say it (a server that says it wins). */
  contextTokens: WindowTokens.optional(),
  /** On Ollama's own API, the most `num_ctx` org asks for (default: 8192, or more if the model is set up so). */
  maxContextTokens: WindowTokens.optional(),
});
export type PersonaEntry = z.infer<typeof PersonaEntry>;

/** The tools each kind of persona gets unless the config says otherwise. */
export const DEFAULT_TOOLS: Record<PersonaKind, Record<string, ToolPolicy>> = {
  agent: {
    sh: "allow",
    chat_mode: "allow",
    workflow_run: "ask",
    plan_workflow: "ask",
    memory_search: "allow",
    memory_save: "allow",
    // Offered only where a Telegram chat follows the session (org telegram); it sends a file out, so it asks.
    send_file: "ask",
    // A real browser in the sandbox (docs/browser.md): every call is asked about unless the config says otherwise.
    browser: "ask",
  },
  python: { python_run: "allow" },
  toolsmith: {},
  simple: {},
};
