import type { ToolCall } from "../llm/chat-types.ts";
import type { RoomMessage } from "../models/room-message.ts";

/** Per persona, per user turn: what its replies cost and how fast they came. */
export type PersonaStats = {
  replies: number;
  promptTokens: number;
  completionTokens: number;
  /** Completion tokens per second of streaming (first token to end). */
  tokensPerSecond: number;
  /** From the reply's start to its first visible token (queue wait included); null if none came. */
  firstTokenMs: number | null;
  /** Time spent queued for the model server. */
  queuedMs: number;
  durationMs: number;
};

/** Everything the room reports; JSON-serialisable, one per line in `--json` mode and in the transcript. */
export type RoomEvent =
  | { type: "turn-start"; turnId: string; text: string; mode: string; addressed: string[] }
  | { type: "reply-start"; turnId: string; replyId: string; persona: string; model: string; hop: number; destination: string }
  | { type: "waiting"; replyId: string; persona: string; reason: "queued" | "first-token"; baseUrl: string }
  | { type: "text-delta"; replyId: string; persona: string; text: string }
  | { type: "reasoning-delta"; replyId: string; persona: string; text: string }
  | { type: "tool-call"; replyId: string; persona: string; call: ToolCall }
  | { type: "tool-result"; replyId: string; persona: string; call: ToolCall; ok: boolean; output: string; durationMs: number }
  | { type: "message"; persona?: string; message: RoomMessage }
  | { type: "file-written"; replyId: string; persona: string; path: string; bytes: number }
  | { type: "reply-end"; replyId: string; persona: string; ok: boolean; stats: PersonaStats }
  | { type: "turn-end"; turnId: string; ok: boolean; stats: Record<string, PersonaStats> }
  | { type: "mode"; mode: string; by: string }
  | { type: "model-changed"; persona: string; model: string }
  | { type: "notice"; persona?: string; reason: "hop-limit" | "replies-in-a-row" | "max-rounds" | "repeated-call" | "budget" | "approval" | "tool-limit" | "file-refused" | "damaged-transcript"; message: string }
  | { type: "cleared" }
  | { type: "error"; persona?: string; replyId?: string; message: string; kind?: string };

/** What `Room.send` resolves to once every reply of the turn is done. */
export type TurnSummary = {
  turnId: string;
  ok: boolean;
  messages: RoomMessage[];
  stats: Record<string, PersonaStats>;
  errors: { persona?: string; message: string }[];
};
