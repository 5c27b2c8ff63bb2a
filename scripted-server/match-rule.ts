import { computedReply } from "./computed-replies.ts";
import { asksForSummary, summaryReply, WRITE_SUMMARY_TOOL } from "./summary-reply.ts";
import type { Reply, Script } from "./script.ts";

/** The parts of a chat request that rules look at. */
export type ChatRequestView = {
  model: string;
  messages: { role?: unknown; content?: unknown; tool_call_id?: unknown; tool_calls?: unknown; name?: unknown }[];
  /** Names of the tools the request offers. */
  toolNames?: readonly string[];
};

const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Message content as text: a string, or the text parts of a content array. */
export function messageText(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    return content.map((part) => (part && typeof part === "object" && "text" in part && typeof part.text === "string" ? part.text : "")).join("");
  }
  return "";
}

/** Picks the reply for a request: the first rule whose conditions all hold, counting `times` per rule. */
export class RuleMatcher {
  readonly #fired: number[];

  constructor(readonly script: Script) {
    this.#fired = script.rules.map(() => 0);
  }

  pick(request: ChatRequestView): { reply: Reply; ruleIndex: number | "fallback" | "none" | "summary" } {
    const last = request.messages.at(-1);
    const lastText = messageText(last?.content);
    const texts = () => ({
      firstUser: messageText(request.messages.find((message) => message.role === "user")?.content),
      last: lastText,
      tool: request.toolNames?.[0],
      messages: request.messages.map((message) => ({ role: String(message.role ?? ""), text: messageText(message.content) })),
    });
    // Offered write_summary, only a rule naming that tool answers; without one that matches, it plays the summariser.
    const summary = asksForSummary(request.toolNames);
    const systemText = request.messages
      .filter((message) => message.role === "system")
      .map((message) => messageText(message.content))
      .join("\n");
    for (const [index, rule] of this.script.rules.entries()) {
      const when = rule.when ?? {};
      if (summary && when.tool !== WRITE_SUMMARY_TOOL) continue;
      if (when.times !== undefined && (this.#fired[index] ?? 0) >= when.times) continue;
      if (when.model !== undefined && when.model !== request.model) continue;
      if (when.tool !== undefined && !(request.toolNames ?? []).includes(when.tool)) continue;
      if (when.lastRole !== undefined && last?.role !== when.lastRole) continue;
      if (when.lastTool !== undefined && lastToolName(request.messages) !== when.lastTool) continue;
      const match = when.lastMessage === undefined ? undefined : new RegExp(when.lastMessage, "i").exec(lastText);
      if (match === null) continue;
      if (when.persona !== undefined && !new RegExp(`(?<![\\w])${escapeRegex(when.persona)}(?![\\w])`, "i").test(systemText)) {
        continue;
      }
      this.#fired[index] = (this.#fired[index] ?? 0) + 1;
      return { reply: computedReply(withPlaceholders(rule.reply, lastText, match?.groups), texts, this.script.meanings), ruleIndex: index };
    }
    if (summary) {
      const userText = request.messages.map((message) => (message.role === "user" ? messageText(message.content) : "")).join("\n\n");
      return { reply: summaryReply(userText), ruleIndex: "summary" };
    }
    if (this.script.fallback)
      return { reply: computedReply(withPlaceholders(this.script.fallback, lastText), texts, this.script.meanings), ruleIndex: "fallback" };
    const quoted = lastText.length > 200 ? `${lastText.slice(0, 200)}…` : lastText;
    return {
      reply: {
        text: `[scripted server] no rule matched the last message (${String(last?.role ?? "none")}): ${JSON.stringify(quoted)}`,
        wire: "ollama-new",
        chunkSize: 8,
        delayMs: 0,
        firstByteDelayMs: 0,
        usage: true,
      },
      ruleIndex: "none",
    };
  }
}

/** The reply's text with `{{lastMessage}}` and `{{match.NAME}}` filled in (a function replacer: `$` in them is text). */
function withPlaceholders(reply: Reply, lastText: string, groups: Record<string, string | undefined> = {}): Reply {
  if (reply.text === undefined || !reply.text.includes("{{")) return reply;
  const text = reply.text.replace(/\{\{(lastMessage|match\.(\w+))\}\}/g, (whole, _name: string, group: string | undefined) => {
    if (group === undefined) return lastText;
    return Object.hasOwn(groups, group) ? (groups[group] ?? "") : whole;
  });
  return { ...reply, text };
}

/** The name of the tool call the last message answers, when it is a tool result (its `name`, or its call's by id). */
function lastToolName(messages: ChatRequestView["messages"]): string | undefined {
  const last = messages.at(-1);
  if (last?.role !== "tool") return undefined;
  if (typeof last.name === "string") return last.name;
  for (let index = messages.length - 2; index >= 0; index -= 1) {
    const calls = messages[index]?.tool_calls;
    if (!Array.isArray(calls)) continue;
    for (const call of calls) {
      const fn: unknown = call && typeof call === "object" && "function" in call ? call.function : undefined;
      const name = fn && typeof fn === "object" && "name" in fn && typeof fn.name === "string" ? fn.name : undefined;
      if (call && typeof call === "object" && "id" in call && call.id === last.tool_call_id && name !== undefined) return name;
    }
  }
  return undefined;
}
