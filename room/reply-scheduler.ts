import type { OrgConfig } from "../config/org-config.ts";
import type { Persona } from "../personas/persona.ts";
import type { RoomMessage } from "../personas/room-message.ts";
import { codePolicyOf, type DecidingPolicy, stricterDeciding } from "../security/policy.ts";
import type { AnyTool } from "../tools/define-tool.ts";
import type { RoomEvent, TurnSummary } from "./room-event.ts";
import { type ReplyRoom, type ReplyTurn, runReply } from "./run-reply.ts";

/** One user message's replies as they run: who replied how often, what is still running, what was said. */
export type Turn = ReplyTurn & {
  repliesBy: Map<string, number>;
  pending: Set<Promise<void>>;
  messages: TurnSummary["messages"];
};

/**
 * Schedules replies: one at a time per persona (so each reply's context has the persona's previous one),
 * within the hop and replies-in-a-row limits, each hop under a code policy never above what asked it.
 */
export function replyScheduler(options: {
  config: OrgConfig;
  byName: ReadonlyMap<string, Persona>;
  builtins: ReadonlyMap<string, AnyTool>;
  replyRoom: ReplyRoom;
  emit: (event: RoomEvent) => void;
}) {
  const { config, byName, emit } = options;
  const personaQueues = new Map<string, Promise<void>>();
  // Per persona message of this session: the code policy its hops run under (docs/ARCHITECTURE.md, invariant 12).
  const ceilings = new WeakMap<RoomMessage, DecidingPolicy>();
  const codePolicy = (persona: string): DecidingPolicy =>
    codePolicyOf(persona, byName.get(persona)?.toolPolicy ?? {}, (tool) => options.builtins.get(tool)?.runsCode ?? false);

  /** Whether `persona` may answer now; if not, the notice saying why is emitted. */
  function withinLimits(turn: Turn, persona: string, hop: number, trigger: RoomMessage): boolean {
    if (hop > config.limits.hopsPerMessage) {
      emit({
        type: "notice",
        persona,
        reason: "hop-limit",
        message:
          `${trigger.from} asked ${persona}, but this message already went ` +
          `${config.limits.hopsPerMessage} hops between personas (limits.hopsPerMessage); ${persona} stays quiet until the user speaks.`,
      });
      return false;
    }
    const replies = turn.repliesBy.get(persona) ?? 0;
    if (replies >= config.limits.repliesInARow) {
      emit({
        type: "notice",
        persona,
        reason: "replies-in-a-row",
        message: `${persona} already replied ${replies} times since the user spoke (limits.repliesInARow); it waits for the user.`,
      });
      return false;
    }
    return true;
  }

  function schedule(turn: Turn, persona: string, hop: number, trigger: RoomMessage): void {
    const model = byName.get(persona);
    if (!model || !withinLimits(turn, persona, hop, trigger)) return;
    const replies = turn.repliesBy.get(persona) ?? 0;
    turn.repliesBy.set(persona, replies + 1);
    const replyId = `${turn.turnId}-${persona}-${replies}`;
    const previous = personaQueues.get(persona) ?? Promise.resolve();
    const task = previous
      .then(async () => {
        const ceiling = trigger.from === "user" ? undefined : (ceilings.get(trigger) ?? codePolicy(trigger.from));
        const message = await runReply(options.replyRoom, turn, model, hop, trigger, replyId, ceiling);
        // What this reply asks of others runs under its own code policy, and never above what asked it.
        ceilings.set(message, ceiling ? stricterDeciding(ceiling, codePolicy(persona)) : codePolicy(persona));
        turn.messages.push(message);
        for (const next of message.addressed) schedule(turn, next, hop + 1, message);
      })
      .finally(() => turn.pending.delete(task));
    personaQueues.set(
      persona,
      task.catch(() => {}),
    );
    turn.pending.add(task);
  }

  return { schedule };
}
