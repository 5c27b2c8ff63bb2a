// The needs in a stream of room events (a transcript's lines, or a finished job's events): requests in the user's
// words, replies that say a persona could not do something, calls of tools that do not exist, failing generated
// tools, workflow steps that failed, commands missing in the sandbox, and `/wish`. Events are read with small
// schemas of the fields used; anything else in a line, or a line that is not an event, is passed over.
import { z } from "zod";
import { TOOL_NAME_PATTERN } from "../config/workspace-paths.ts";
import type { NeedKind, ProposalKind } from "./proposal.ts";
import { cannotGoal, GOAL_CHARS, messageGoal, missingCommandGoal, missingToolGoal, oneLine, QUOTE_CHARS, requestedGoal } from "./need-signals.ts";

/** One need as noticed, before it joins a proposal. */
export type Need = {
  kind: NeedKind;
  goal: string;
  /** The tool the need names (a missing tool, a failing one); only a valid tool name. */
  tool?: string;
  session: string;
  turn: string;
  quote: string;
  /** ISO time it was seen. */
  time: string;
  /** What it asks for when its kind does not say (a workflow step whose generated tool failed asks for a rebuild). */
  asks?: ProposalKind;
};

/** What a tool name is in this workspace: a built-in (or org's own), a promoted generated tool, or nothing. */
export type ToolKindOf = (name: string) => "built-in" | "promoted" | undefined;

/** Where a session's reading stands between batches: its turn, that turn's text, and which turn each reply is in. */
export type SessionPosition = { turn?: string; turnText?: string; replies: Record<string, string> };

const Time = { time: z.string().max(64).optional() };
const TurnStart = z.object({ type: z.literal("turn-start"), turnId: z.string(), text: z.string(), ...Time });
const ReplyStart = z.object({ type: z.literal("reply-start"), turnId: z.string(), replyId: z.string() });
const ToolResult = z.object({
  type: z.literal("tool-result"),
  replyId: z.string(),
  call: z.object({ name: z.string(), arguments: z.unknown() }),
  ok: z.boolean(),
  output: z.string(),
  ...Time,
});
const Message = z.object({
  type: z.literal("message"),
  message: z.object({ from: z.string(), text: z.string(), turnId: z.string(), time: z.string().optional() }),
  ...Time,
});
const Wish = z.object({ type: z.literal("notice"), reason: z.literal("wish"), message: z.string(), ...Time });

const TURN_ID = /^[\w.:-]{1,128}$/;
// What the cursor keeps of a turn's message, for a reply read in a later run: enough for its goal.
const TURN_TEXT_CHARS = 600;
// Replies remembered per session between batches: a reply's turn is needed only while it is being written.
const REMEMBERED_REPLIES = 64;

/** A turn id as evidence keeps it: as written when it is plain, else a stand-in that cannot carry anything. */
function turnOf(id: string | undefined): string {
  if (id !== undefined && TURN_ID.test(id)) return id;
  return "unknown-turn";
}

const NO_TOOL_NAMED = /^Error: there is no tool named "([^"\n]{1,200})"/;
const WORKFLOW_MISSING = /there is no promoted tool "([a-z][a-z0-9_]{1,47})"/;
const WORKFLOW_FAILED = /step "([^"\n]{1,100})"[^\n]*?the tool ([a-z][a-z0-9_]{1,47}) failed \((\w+)\): ([^\n]*)/;

/**
 * The needs in `events` (parsed JSON values, each with the byte offset its line started at), read in order from
 * where `position` left the session; `position` is updated as the events go by.
 */
export function needsOfRoomEvents(
  session: string,
  events: readonly { offset: number; value: unknown }[],
  position: SessionPosition,
  kindOf: ToolKindOf,
  now: string,
): Need[] {
  const needs: Need[] = [];
  const add = (need: Omit<Need, "session" | "quote" | "time"> & { quote: string; time?: string }) =>
    needs.push({ ...need, session, quote: oneLine(need.quote, QUOTE_CHARS), time: validTime(need.time) ?? now });
  for (const { offset, value } of events) {
    if (typeof value !== "object" || value === null || !("type" in value)) continue;
    switch (value.type) {
      case "turn-start": {
        const turn = TurnStart.safeParse(value);
        if (!turn.success) break;
        position.turn = turnOf(turn.data.turnId);
        position.turnText = turn.data.text.slice(0, TURN_TEXT_CHARS);
        position.replies = {};
        const goal = requestedGoal(turn.data.text);
        if (goal) add({ kind: "request", goal, turn: position.turn, quote: turn.data.text, time: turn.data.time });
        break;
      }
      case "reply-start": {
        const reply = ReplyStart.safeParse(value);
        if (!reply.success) break;
        const replies = Object.entries(position.replies).slice(-(REMEMBERED_REPLIES - 1));
        position.replies = Object.fromEntries([...replies, [reply.data.replyId.slice(0, 128), turnOf(reply.data.turnId)]]);
        break;
      }
      case "tool-result": {
        const result = ToolResult.safeParse(value);
        if (!result.success || result.data.ok) break;
        // Looked up as an own key: a reply id such as "__proto__" names nothing.
        const replyId = result.data.replyId;
        const turn = (Object.hasOwn(position.replies, replyId) ? position.replies[replyId] : undefined) ?? turnOf(position.turn);
        const need = toolResultNeed(result.data.call.name, result.data.call.arguments, result.data.output, kindOf);
        if (need) add({ ...need, turn, time: result.data.time });
        break;
      }
      case "message": {
        const message = Message.safeParse(value);
        if (!message.success || message.data.message.from === "user") break;
        const turnText = position.turn === turnOf(message.data.message.turnId) ? position.turnText : undefined;
        const goal = cannotGoal(message.data.message.text, () => (turnText === undefined ? undefined : messageGoal(turnText)));
        if (goal)
          add({
            kind: "cannot",
            goal,
            turn: turnOf(message.data.message.turnId),
            quote: `${message.data.message.from}: ${message.data.message.text}`,
            time: message.data.message.time ?? message.data.time,
          });
        break;
      }
      case "notice": {
        const wish = Wish.safeParse(value);
        if (!wish.success) break;
        const goal = oneLine(wish.data.message, GOAL_CHARS);
        if (goal !== "") add({ kind: "wish", goal, turn: `wish-${offset}`, quote: `/wish ${wish.data.message}`, time: wish.data.time });
        break;
      }
      default:
        break;
    }
  }
  return needs;
}

/** The need a failed tool result shows, if any. */
export function toolResultNeed(name: string, args: unknown, output: string, kindOf: ToolKindOf): Omit<Need, "session" | "turn" | "time"> | undefined {
  const missing = NO_TOOL_NAMED.exec(output)?.[1];
  if (missing !== undefined && missing === name && kindOf(name) === undefined) {
    return {
      kind: "missing-tool",
      goal: missingToolGoal(name, args),
      ...(TOOL_NAME_PATTERN.test(name) ? { tool: name } : {}),
      quote: `${name}(${safeJson(args)}): ${output}`,
    };
  }
  if (name === "workflow_run") {
    const absent = WORKFLOW_MISSING.exec(output)?.[1];
    if (absent !== undefined && kindOf(absent) === undefined)
      return { kind: "failed-step", goal: missingToolGoal(absent, {}), tool: absent, quote: `workflow_run(${safeJson(args)}): ${output}` };
    const failed = WORKFLOW_FAILED.exec(output);
    if (failed?.[2] !== undefined && kindOf(failed[2]) === "promoted")
      return {
        kind: "failed-step",
        goal: oneLine(`${failed[2]} that also works where step ${failed[1]} failed (${failed[3]}): ${failed[4] ?? ""}`, GOAL_CHARS),
        tool: failed[2],
        asks: "rebuild",
        quote: `workflow_run(${safeJson(args)}): ${output}`,
      };
    return undefined;
  }
  if (kindOf(name) === "promoted" && output.startsWith(`Error: ${name} failed (`)) {
    return {
      kind: "failed-call",
      goal: oneLine(`${name} that also works for ${safeJson(args)} (it failed: ${output.slice(`Error: ${name} failed `.length)})`, GOAL_CHARS),
      tool: name,
      quote: `${name}(${safeJson(args)}): ${output}`,
    };
  }
  const command = missingCommandGoal(name, output);
  if (command) return { kind: "missing-command", goal: command.goal, quote: `${name}(${safeJson(args)}): ${output}` };
  return undefined;
}

function safeJson(value: unknown): string {
  try {
    return oneLine(JSON.stringify(value) ?? "", 200);
  } catch {
    return "";
  }
}

/**
 * A line's time as the ISO datetime a proposal keeps, or undefined. A date past year 9999 or before year 0 parses, but
 * JavaScript writes it with six digits and a sign ("+010000-…"), which no proposal holds: kept, it would make every
 * run's state unwritable, and the line that brought it be read again by the next run.
 */
export function validTime(time: string | undefined): string | undefined {
  if (time === undefined) return undefined;
  const parsed = Date.parse(time);
  if (!Number.isFinite(parsed)) return undefined;
  const iso = new Date(parsed).toISOString();
  return /^\d{4}-/.test(iso) ? iso : undefined;
}
