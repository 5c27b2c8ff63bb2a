import type { TurnSummary } from "./room-event.ts";
import type { Turn } from "./reply-scheduler.ts";
import { type CredentialChoice, sendTurn, type TurnRoom } from "./send-turn.ts";

/** How one message is sent: a signal that stops its turn, the credential guard's choice, and who wants the turn's id at once. */
export type SendOptions = {
  signal?: AbortSignal;
  credentials?: CredentialChoice;
  /** Called with the turn's id as the turn starts, before any reply (serve answers with it while the turn runs on). */
  started?: (turnId: string) => void;
};

/**
 * The room's turns: each line sent is a turn with its own id, run under the room's closing signal, its own stop
 * signal and the caller's; `stop` stops the running ones, `close` stops them all and waits for every reply they started.
 */
export function roomTurns(room: Omit<TurnRoom, "settle">) {
  const closing = new AbortController();
  const turns = new Set<Promise<unknown>>();
  const stops = new Set<AbortController>();
  let counter = 0;
  const settle = async (turn: Turn) => {
    const running = (async () => {
      while (turn.pending.size > 0) await Promise.allSettled([...turn.pending]);
    })();
    turns.add(running);
    try {
      await running;
    } finally {
      turns.delete(running);
    }
  };
  const turnRoom: TurnRoom = { ...room, settle };
  return {
    async send(typed: string, options: SendOptions): Promise<TurnSummary> {
      counter += 1;
      const turnId = `${room.sessionId.slice(-6)}-${counter}-${crypto.randomUUID().slice(0, 4)}`;
      const stop = new AbortController();
      stops.add(stop);
      const signal = AbortSignal.any([stop.signal, closing.signal, ...(options.signal ? [options.signal] : [])]);
      options.started?.(turnId);
      try {
        return await sendTurn(turnRoom, typed, turnId, signal, options.credentials);
      } finally {
        stops.delete(stop);
      }
    },
    get running(): number {
      return stops.size;
    },
    stop(reason: string): number {
      const running = [...stops];
      for (const stop of running) stop.abort(new Error(reason));
      return running.length;
    },
    async close(): Promise<void> {
      closing.abort(new Error("the room was closed"));
      await Promise.allSettled([...turns]);
    },
  };
}
