import type { RoomEvent } from "../room/room-event.ts";
import type { ApprovalButtons } from "./approval-buttons.ts";
import type { CardHandle, ChatOutbox } from "./chat-outbox.ts";
import { escapeHtml, htmlParts, type MessageLine, textLines } from "./telegram-html.ts";
import { counted } from "../config/counted.ts";
import { describeCompaction } from "../room/compaction-line.ts";
import { readScreenshot } from "../room/session-files.ts";
import { browserData, toolResultSummary } from "../room/tool-summary.ts";

type Line = MessageLine & { text: string };
type Segment = { kind: "text"; text: string } | { kind: "note"; text: string };

/** Lines or characters past which a tool's output comes as a file, not in the message. */
const INLINE_OUTPUT_LINES = 12;
const INLINE_OUTPUT_CHARS = 1_200;
/** Characters of a call's arguments shown in a question or a note. */
const ARGUMENT_CHARS = 600;

/** Output that holds a unified diff (`git diff`, `diff -u`): a file header pair and a hunk. */
const UNIFIED_DIFF = /^--- .*\n\+\+\+ .*\n@@ /m;

const cut = (text: string, max: number) => (text.length > max ? `${text.slice(0, max)}…` : text);
const oneLine = (text: string, max: number) => cut(text.replace(/\s+/g, " ").trim(), max);

/** A persona's reply as one card: its text as it streams, with a note for each tool call and result. */
class ReplyCard {
  readonly segments: Segment[] = [];
  readonly handle: CardHandle;
  #ended = false;
  constructor(
    readonly persona: string,
    outbox: ChatOutbox,
    readonly header = persona,
    /** Called once, as the reply first says or runs something. */
    readonly onContent: () => void = () => {},
  ) {
    // Nothing is sent before the reply says something (the messages after it wait their turn).
    this.handle = outbox.card(() => ({
      parts: this.segments.length === 0 && !this.#ended ? [] : htmlParts(this.lines(), { continued: `${this.persona} (continued)` }),
    }));
  }

  /** The reply is over: a reply that said nothing says so. */
  end(): void {
    if (this.segments.length === 0) this.segments.push({ kind: "note", text: "(no answer)" });
    this.#ended = true;
    this.handle.close();
  }

  text(delta: string): void {
    if (this.segments.length === 0) this.onContent();
    const last = this.segments.at(-1);
    if (last?.kind === "text") last.text += delta;
    else this.segments.push({ kind: "text", text: delta });
    this.handle.changed();
  }

  note(text: string): void {
    if (this.segments.length === 0) this.onContent();
    this.segments.push({ kind: "note", text });
    this.handle.changed();
  }

  /** The reply's ```diff and ```patch blocks, each whole (a patch is read as a file, not off a phone's screen). */
  patches(): { language: string; text: string }[] {
    const blocks = new Map<number, { language: string; lines: string[] }>();
    let base = 0;
    for (const segment of this.segments) {
      if (segment.kind !== "text") continue;
      const lines = textLines(segment.text, base);
      for (const line of lines) {
        if (line.kind !== "code" || (line.language !== "diff" && line.language !== "patch")) continue;
        const block = blocks.get(line.block) ?? { language: line.language, lines: [] };
        block.lines.push(line.text);
        blocks.set(line.block, block);
      }
      // Block numbers stay apart between segments: no segment opens more blocks than it has lines.
      base += segment.text.split("\n").length + 1;
    }
    return [...blocks.values()].map((block) => ({ language: block.language, text: `${block.lines.join("\n")}\n` }));
  }

  get hasText(): boolean {
    return this.segments.some((segment) => segment.kind === "text" && segment.text.trim() !== "");
  }

  lines(): Line[] {
    const lines: Line[] = [{ kind: "header", text: this.header }];
    let blocks = 0;
    for (const segment of this.segments) {
      if (segment.kind === "note") lines.push({ kind: "note", text: segment.text });
      else {
        const read = textLines(segment.text.replace(/^\n+/, ""), blocks);
        // Block numbers stay apart between segments: no segment opens more blocks than it has lines.
        blocks += segment.text.split("\n").length + 1;
        lines.push(...read);
      }
    }
    return lines;
  }
}

/** A question with Approve / Deny under it, until someone answers; then what was answered, and by whom. */
class ApprovalCard {
  outcome: string | undefined;
  readonly handle: CardHandle;
  constructor(lines: Line[], keyboard: ReturnType<ApprovalButtons["keyboard"]>, outbox: ChatOutbox) {
    this.handle = outbox.card(() => {
      const parts = htmlParts(this.outcome === undefined ? lines : [...lines, { kind: "note", text: this.outcome }]);
      return this.outcome === undefined ? { parts, keyboard } : { parts };
    });
  }
}

const ANSWERED: Record<string, string> = {
  yes: "✅ approved",
  always: "✅ approved for the rest of the session",
  no: "❌ denied",
  timeout: "⌛ nobody answered in time: denied",
  stopped: "⏹ the turn was stopped",
};

/**
 * What one chat shows of its room: each reply streaming into a message of its own (edited as it grows, split past
 * Telegram's limit), tool calls as notes, long tool output and workspace diffs as files, approval questions with
 * buttons, notices and errors as short messages. Everything shown comes from the room's redacted events and is
 * escaped for Telegram's HTML.
 */
export class ChatView {
  readonly #replies = new Map<string, ReplyCard>();
  readonly #questions = new Map<string, ApprovalCard>();
  /** Turns this chat started: another subscriber's turn is shown with its message. */
  readonly #mine = new Set<string>();
  /** What to call when a reply of a turn of this chat's first says or runs something. */
  readonly #firstReply = new Map<string, () => void>();
  /** The turn each open reply belongs to: a turn's end ends any reply of it still open. */
  readonly #turnOf = new Map<string, string>();

  constructor(
    readonly chatId: string,
    readonly sessionId: string,
    readonly outbox: ChatOutbox,
    readonly buttons: ApprovalButtons,
    /** The workspace: a screenshot the browser saved is read from the session's folder below it (its scratch). */
    readonly workspaceDir: string,
  ) {}

  /** A turn this chat's message started (its text is already in the chat); `onReply` is called as a reply first says something. */
  started(turnId: string, onReply?: () => void): void {
    this.#mine.add(turnId);
    if (onReply) this.#firstReply.set(turnId, onReply);
  }

  /** One event of the room's stream. */
  show(event: RoomEvent): void {
    switch (event.type) {
      case "turn-start":
        if (!this.#mine.has(event.turnId)) this.outbox.say(`🗨 <i>sent from elsewhere:</i> ${escapeHtml(cut(event.text, 3_000))}`);
        return;
      case "reply-start": {
        const onContent = () => {
          this.#firstReply.get(event.turnId)?.();
          this.#firstReply.delete(event.turnId);
        };
        this.#replies.set(event.replyId, new ReplyCard(event.persona, this.outbox, event.persona, onContent));
        this.#turnOf.set(event.replyId, event.turnId);
        return;
      }
      case "turn-end":
        for (const [replyId, turnId] of this.#turnOf) if (turnId === event.turnId) this.#ended(replyId);
        this.#firstReply.delete(event.turnId);
        this.#mine.delete(event.turnId);
        return;
      case "text-delta":
        this.#replies.get(event.replyId)?.text(event.text);
        return;
      case "tool-call":
        this.#replies.get(event.replyId)?.note(`⚙ ${event.call.name} ${oneLine(JSON.stringify(event.call.arguments), ARGUMENT_CHARS)}`);
        return;
      case "tool-result":
        this.#toolResult(event);
        return;
      case "progress":
        this.#replies.get(event.replyId)?.note(`… ${event.step}: ${event.status}${event.detail ? ` (${oneLine(event.detail, 200)})` : ""}`);
        return;
      case "message":
        this.#finalText(event);
        return;
      case "reply-end":
        this.#ended(event.replyId);
        return;
      case "error":
        this.#error(event);
        return;
      case "notice":
        if (event.reason !== "tool-choice" && event.reason !== "memory") this.outbox.say(`ℹ️ <i>${escapeHtml(cut(event.message, 3_000))}</i>`);
        return;
      case "approval-asked":
        this.#asked(event);
        return;
      case "approval-answered":
        this.#answered(event);
        return;
      case "change-proposed":
        this.outbox.document(
          { fileName: `change-${event.changeId}.diff`, content: event.diff, mimeType: "text/x-diff" },
          escapeHtml(`${event.persona} changed ${event.files.length} file${event.files.length === 1 ? "" : "s"} (+${event.added} −${event.removed})`),
        );
        return;
      case "change-applied":
        this.outbox.say(`✎ <i>${escapeHtml(`${event.persona}'s change ${event.changeId} was applied (/undo undoes it)`)}</i>`);
        return;
      case "change-refused":
        this.outbox.say(`✎ <i>${escapeHtml(`${event.persona}'s change was not applied: ${cut(event.message, 1_000)}`)}</i>`);
        return;
      case "change-undone":
        this.outbox.say(`↶ <i>${escapeHtml(`change ${event.changeId} was undone`)}</i>`);
        return;
      case "mode":
        this.outbox.say(`mode: <code>${escapeHtml(event.mode)}</code>`);
        return;
      case "compaction":
        this.outbox.say(`ℹ️ <i>${escapeHtml(describeCompaction(event))}</i>`);
        return;
      default:
        return;
    }
  }

  #ended(replyId: string): void {
    this.#turnOf.delete(replyId);
    const card = this.#replies.get(replyId);
    if (!card) return;
    card.end();
    this.#replies.delete(replyId);
    for (const [index, patch] of card.patches().entries())
      this.outbox.document(
        { fileName: `${card.persona}-${index + 1}.${patch.language}`, content: patch.text, mimeType: "text/x-diff" },
        escapeHtml(`${card.persona}'s ${patch.language}`),
      );
  }

  #toolResult(event: Extract<RoomEvent, { type: "tool-result" }>): void {
    const card = this.#replies.get(event.replyId);
    // A tool that sums its result up (the browser) says that line; the page itself stays with the model, a screenshot
    // comes as a photo.
    const summary = event.ok ? toolResultSummary(event.call.name, event.data) : undefined;
    if (summary) {
      card?.note(`✓ ${event.call.name}: ${oneLine(summary.text, 300)}`);
      if (summary.screenshot !== undefined) this.#screenshot(event, summary.screenshot);
      return;
    }
    const lines = event.output.split("\n");
    const diff = UNIFIED_DIFF.test(event.output);
    const long = lines.length > INLINE_OUTPUT_LINES || event.output.length > INLINE_OUTPUT_CHARS;
    const mark = event.ok ? "✓" : "✗";
    if (!long && !diff) {
      card?.note(`${mark} ${event.call.name}: ${oneLine(event.output, 300)}`);
      return;
    }
    card?.note(`${mark} ${event.call.name}: ${diff ? "a diff" : `${counted(lines.length, "line")} of output`}, in the file below`);
    this.outbox.document(
      { fileName: `${event.call.name}-output.${diff ? "diff" : "txt"}`, content: event.output, mimeType: diff ? "text/x-diff" : "text/plain" },
      escapeHtml(`${event.persona}: ${event.call.name} ${oneLine(JSON.stringify(event.call.arguments), 300)}`),
    );
  }

  /** A screenshot the browser saved in this session's folder, sent as a photo; a line saying why when it cannot be. */
  #screenshot(event: Extract<RoomEvent, { type: "tool-result" }>, path: string): void {
    const read = readScreenshot(this.workspaceDir, this.sessionId, path);
    if (!(read instanceof Uint8Array)) {
      this.#replies.get(event.replyId)?.note(`✗ screenshot not sent: ${oneLine(read.refused, 300)}`);
      return;
    }
    const url = browserData(event.data)?.url ?? "";
    const queued = this.outbox.photo(
      { fileName: path.split("/").at(-1) ?? "screenshot.png", content: read, mimeType: "image/png" },
      escapeHtml(`${event.persona}: screenshot of ${oneLine(url, 300)}`),
    );
    if (!queued) this.#replies.get(event.replyId)?.note("✗ screenshot not sent: earlier screenshots are still on their way; ask again later");
  }

  /** A reply that streamed no text (a pipeline's outcome, a reply to a file) shows its final message instead. */
  #finalText(event: Extract<RoomEvent, { type: "message" }>): void {
    const { message } = event;
    if (message.from === "user") return;
    // A persona's message carries its reply's id.
    const card = this.#replies.get(message.id);
    if (card && !card.hasText && message.text.trim() !== "") card.text(message.text);
  }

  #error(event: Extract<RoomEvent, { type: "error" }>): void {
    const text = event.kind === "aborted" ? "⏹ stopped" : `⚠ ${oneLine(event.message, 600)}`;
    const card = event.replyId === undefined ? undefined : this.#replies.get(event.replyId);
    if (card) card.note(text);
    else this.outbox.say(`<i>${escapeHtml(`${event.persona ? `${event.persona}: ` : ""}${text}`)}</i>`);
  }

  #asked(event: Extract<RoomEvent, { type: "approval-asked" }>): void {
    const what = event.changeId !== undefined ? "a change to the workspace" : event.call.name;
    const lines: Line[] = [
      { kind: "header", text: `🔐 ${event.persona} asks to run ${what}` },
      ...(event.why !== undefined ? [{ kind: "note" as const, text: `⚠ ${oneLine(event.why, 600)}` }] : []),
      ...textLines(`\`\`\`json\n${cut(JSON.stringify(event.call.arguments, null, 1), ARGUMENT_CHARS)}\n\`\`\``),
    ];
    const preview = event.preview ?? "";
    const previewLines = preview.split("\n");
    if (preview !== "" && (previewLines.length > INLINE_OUTPUT_LINES * 2 || preview.length > INLINE_OUTPUT_CHARS * 2)) {
      this.outbox.document(
        { fileName: `${event.changeId ? `change-${event.changeId}` : event.call.name}-preview.txt`, content: preview, mimeType: "text/plain" },
        "",
      );
      lines.push({ kind: "note", text: "what it would do is in the file above" });
    } else if (preview !== "") lines.push(...textLines(`\`\`\`\n${preview}\n\`\`\``, 1));
    if (event.alwaysFor !== undefined) lines.push({ kind: "note", text: `(asked for ${event.alwaysFor})` });
    this.#questions.set(event.approvalId, new ApprovalCard(lines, this.buttons.keyboard(this.chatId, this.sessionId, event.approvalId), this.outbox));
    // What the reply says after the question comes below it, in a message of its own: a chat reads downwards.
    const reply = event.replyId === undefined ? undefined : this.#replies.get(event.replyId);
    if (event.replyId !== undefined && reply && reply.segments.length > 0) {
      reply.end();
      this.#replies.set(event.replyId, new ReplyCard(reply.persona, this.outbox, `${reply.persona} (continued)`));
    }
  }

  #answered(event: Extract<RoomEvent, { type: "approval-answered" }>): void {
    this.buttons.closeApproval(event.approvalId);
    const card = this.#questions.get(event.approvalId);
    if (!card) return;
    card.outcome = `${ANSWERED[event.answer] ?? event.answer}${
      event.by === "room" ? "" : ` by ` + `${event.by}`
    }${event.reason ? ` (${oneLine(event.reason, 200)})` : ""}`;
    card.handle.changed();
    card.handle.close();
    this.#questions.delete(event.approvalId);
  }
}
