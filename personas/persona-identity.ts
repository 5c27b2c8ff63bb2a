import { urlOrigin } from "../llm/server-url.ts";
import type { ToolPolicy } from "../config/tool-policy.ts";
import { redact } from "../security/redact.ts";
import { oneLine } from "../security/terminal-sanitizer.ts";
import type { ContextWindow } from "./prompt-assembly.ts";

/** What a persona's identity lines are made of: its model, its tools and its bounds, from config and the room's state. */
export type IdentityFacts = {
  modelId: string;
  /** Where the model runs, as org shows it; only its origin is said. */
  server: string;
  window: ContextWindow;
  /** The tools offered to this reply, with the persona's policy for each. */
  tools: readonly { name: string; policy: ToolPolicy | undefined }[];
  maxRounds: number;
  maxToolCalls: number;
  /** limits.toolSecondsPerTurn: the tool time one turn of the person's may spend. */
  toolSeconds: number;
  /** The room's secret set: nothing said here may carry one. */
  secrets: readonly string[];
};

/**
 * The lines of a persona's system prompt that say what it is (the seed's IDENTITY): its model and the server's origin
 * (never a path, a query, credentials or a key), its window, its tools (those that ask the person first said so) and the
 * bounds of a reply. Fixed for a given config, so a server's prompt cache keeps the prompt's head.
 */
export function identityLines(facts: IdentityFacts): string {
  // An address that does not parse (an OLLAMA_HOST with a zone id, say) has no origin to cut to: none of it is said.
  const server = URL.canParse(facts.server) ? urlOrigin(facts.server) : "(its address is not said)";
  const tools = facts.tools.map((tool) => (tool.policy === "ask" ? `${tool.name} (asks the person first)` : tool.name));
  const lines = [
    `You run as model ${oneLine(facts.modelId, 200)} on the server ${server}; your context window is ${facts.window.tokens} tokens.`,
    tools.length > 0
      ? `Your tools: ${tools.join(", ")}. A tool that asks the person first runs only once they say yes; if they say no, go on without it.`
      : "You have no tools: answer in words.",
    `Each reply may take at most ${facts.maxRounds} tool rounds and ${facts.maxToolCalls} tool calls; the tools of one message ` +
      `of the person's may take ${facts.toolSeconds} seconds in all. Past a bound, answer with what you have.`,
  ];
  return redact(lines.join("\n"), facts.secrets);
}
