// A long session's transcript written as the room writes one, for the web room's test and bench: `turns` turns, each
// the user's question and agent's reply, with its deltas, message, figures and end.
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** Writes the session into `workspace`'s `.org/sessions/` and returns its id; question N and `Answer N.` tell the turns apart. */
export function writeLongSession(workspace: string, turns: number, id = "20261126-120000-long01"): string {
  const time = new Date().toISOString();
  const stats = { replies: 1, promptTokens: 40, completionTokens: 30, tokensPerSecond: 40, firstTokenMs: 80, queuedMs: 0, durationMs: 750 };
  const lines: unknown[] = [{ type: "session-start", sessionId: id, personas: ["agent"], mode: "group", version: 1, time }];
  for (let turn = 0; turn < turns; turn += 1) {
    const turnId = `t${turn}`;
    const text = `question ${turn}: how does part ${turn % 17} of the build work?`;
    const answer = `Answer ${turn}. Part ${turn % 17} is built **first**, then checked; see \`build-${turn % 9}.ts\` for the details.`;
    const message = (messageId: string, from: string, body: string) => ({
      id: messageId,
      turnId,
      from,
      text: body,
      time,
      heardBy: ["agent"],
      addressed: from === "user" ? ["agent"] : [],
    });
    lines.push(
      { type: "turn-start", turnId, text, mode: "group", addressed: ["agent"], time },
      { type: "message", message: message(`u${turn}`, "user", text), time },
      { type: "reply-start", turnId, replyId: `r${turn}`, persona: "agent", model: "bench", hop: 0, destination: "console", time },
      { type: "text-delta", replyId: `r${turn}`, persona: "agent", text: answer, time },
      { type: "message", persona: "agent", message: message(`r${turn}`, "agent", answer), time },
      { type: "reply-end", replyId: `r${turn}`, persona: "agent", ok: true, stats, time },
      { type: "turn-end", turnId, ok: true, stats: { agent: stats }, time },
    );
  }
  const sessions = join(workspace, ".org", "sessions");
  mkdirSync(sessions, { recursive: true, mode: 0o700 });
  chmodSync(join(workspace, ".org"), 0o700);
  writeFileSync(join(sessions, `${id}.jsonl`), `${lines.map((line) => JSON.stringify(line)).join("\n")}\n`, { mode: 0o600 });
  return id;
}
