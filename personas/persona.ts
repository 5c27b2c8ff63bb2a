import type { ToolDefinition } from "../llm/chat-types.ts";
import type { LanguageModel } from "../llm/language-model.ts";
import { toolChars } from "../llm/token-estimate.ts";
import type { PersonaColor, PersonaKind } from "../config/persona-entry.ts";
import type { PersonaConfig } from "../config/org-config.ts";
import type { ToolPolicy } from "../config/tool-policy.ts";
import type { ReplyHost, ReplyOutcome } from "./reply-host.ts";
import { type AssembledPrompt, assemblePrompt, type ContextWindow, replyReserve } from "./prompt-assembly.ts";
import { respondWithTools } from "./respond-with-tools.ts";

/**
 * A persona in the room: who it is (name, system prompt), which model answers for it, which tools it may
 * use, and how much of the room's history it keeps in its context. Kinds that differ only by their role
 * are this class with a role from `PERSONA_ROLES`; a kind with behaviour of its own subclasses it.
 */
export class Persona {
  readonly name: string;
  readonly kind: PersonaKind;
  /** The model that answers for it; `Room.useModel` swaps it for the same server's other model. */
  languageModel: LanguageModel;
  /** The model id its config gives it: while it runs that one (no `/use` to another), `models.byTool` may route a reply. */
  readonly configuredModel: string;
  /** Policy per tool name; a tool not listed is denied. The room adds "ask" for a tool promoted while it is open. */
  readonly toolPolicy: Record<string, ToolPolicy>;
  readonly color?: PersonaColor;
  /** How many of the latest room messages it heard go into its context. */
  readonly contextMessages: number;
  readonly instructions?: string;

  readonly #role: string;
  constructor(config: PersonaConfig, languageModel: LanguageModel, role = "") {
    this.name = config.name;
    this.kind = config.kind;
    this.languageModel = languageModel;
    this.configuredModel = languageModel.modelId;
    this.#role = role;
    this.toolPolicy = { ...config.tools };
    this.color = config.color;
    this.contextMessages = config.contextMessages;
    this.instructions = config.instructions;
  }

  /** The model id it is asked with now. */
  get modelId(): string {
    return this.languageModel.modelId;
  }
  /** What this persona is, after "You are <name>, ". */
  protected role(): string {
    return this.#role;
  }

  /** The system prompt; it begins "You are <name>, " (scripted servers pick the persona by that). */
  systemPrompt(roomPersonas: readonly string[]): string {
    const others = roomPersonas.filter((name) => name !== this.name);
    return [
      `You are ${this.name}, ${this.role()}`,
      // Other personas' names stay out of the system prompt: scripted servers pick the persona by the names in it.
      `You are in a chat room with the user${
        others.length > 0 ? ` and ${others.length} other ` + `persona${others.length === 1 ? "" : "s"}` : ""
      }. Messages from other personas arrive as "<name>: <text>". To ask another persona something, write ` +
        `@<name> in your reply; do that only when you need them. Keep replies short.`,
      ...(this.instructions ? [this.instructions] : []),
    ].join("\n\n");
  }

  /**
   * The prompt of its next completion within `window`: its system prompt, the tools offered, the reply's reserve, org's
   * summary of earlier messages, then as many of the newest messages it heard as fit (at most `contextMessages`).
   */
  prompt(host: Pick<ReplyHost, "history" | "roomPersonas" | "prompt">, window: ContextWindow, tools: readonly ToolDefinition[]): AssembledPrompt {
    return assemblePrompt({
      persona: this.name,
      modelId: this.modelId,
      system: this.systemPrompt(host.roomPersonas),
      toolChars: toolChars(tools),
      summary: host.prompt.summary,
      history: host.history,
      maxMessages: this.contextMessages,
      window,
      reserve: replyReserve(window.tokens, host.prompt.reserveTokens),
      estimator: host.prompt.estimator,
    });
  }

  /** How this persona answers the message `host.trigger`: by default its model in the tool loop. */
  respond(host: ReplyHost): Promise<ReplyOutcome> {
    return respondWithTools(host, (window, tools) => this.prompt(host, window, tools));
  }
}
