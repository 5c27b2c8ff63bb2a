import { useEffect, useState } from "preact/hooks";
import { fetchImageUrl } from "../page-key.ts";
import { argumentsLine, argumentsText, statsLine } from "../../reply-figures.ts";
import type { Reply, ReplyPart } from "../../room-state.ts";
import { Markdown } from "../markdown.tsx";

/** Lines of a tool's output shown before "Show whole output". */
const FIRST_LINES = 6;

/** A call's arguments as one line, as the terminal shows them; when that cut them, a button shows them whole. */
function CallArguments({ args }: { args: unknown }) {
  const [whole, setWhole] = useState(false);
  const { line, folded } = argumentsLine(args);
  return (
    <>
      {whole ? <pre class="tool-args">{argumentsText(args)}</pre> : <div class="tool-args-line">{line}</div>}
      {folded && (
        <button type="button" class="link" aria-expanded={whole} onClick={() => setWhole(!whole)}>
          {whole ? "Fold arguments" : "Show whole arguments"}
        </button>
      )}
    </>
  );
}

/** The session the page shows (`?session=`, which the room keeps in the address). */
const shownSession = () => new URLSearchParams(location.search).get("session") ?? "";

/** A screenshot a tool saved in the session's folder, read with the page's key and shown inline. */
function Screenshot({ path }: { path: string }) {
  const [url, setUrl] = useState<string | undefined>(undefined);
  const [problem, setProblem] = useState<string | undefined>(undefined);
  useEffect(() => {
    const controller = new AbortController();
    let made: string | undefined;
    const route = `/v1/sessions/${encodeURIComponent(shownSession())}/screenshot?path=${encodeURIComponent(path)}`;
    fetchImageUrl(route, controller.signal).then(
      (objectUrl) => {
        made = objectUrl;
        setUrl(objectUrl);
      },
      (error: unknown) => controller.signal.aborted || setProblem(error instanceof Error ? error.message : String(error)),
    );
    return () => {
      controller.abort();
      if (made !== undefined) URL.revokeObjectURL(made);
    };
  }, [path]);
  if (problem !== undefined) return <div class="error">screenshot {path}: {problem}</div>;
  if (url === undefined) return <div class="muted">loading screenshot {path}…</div>;
  return <img class="tool-screenshot" src={url} alt={`screenshot ${path}`} />;
}

/** A result a tool sums up itself (the browser's snapshot): its summary line, the output folded under it. */
function FoldedOutput({ summary, output }: { summary: string; output: string }) {
  return (
    <details class="tool-fold">
      <summary>{summary}</summary>
      <pre class="tool-output">{output || "(no output)"}</pre>
    </details>
  );
}

function ToolPart({ part, asking }: { part: Extract<ReplyPart, { kind: "tool" }>; asking: boolean }) {
  const [whole, setWhole] = useState(false);
  const output = part.result?.output ?? "";
  const lines = output.split("\n");
  const cut = lines.length > FIRST_LINES;
  const exit = part.result?.exitCode != null ? ` (exit ${part.result.exitCode})` : "";
  const status = part.result === undefined ? (asking ? "waiting for approval" : "running…") : part.result.ok ? "ok" : `failed${exit}`;
  return (
    <div class={`tool ${part.result && !part.result.ok ? "bad" : ""}`}>
      <div class="tool-head">
        <span class="tool-name">⚙ {part.call.name}</span> <span class="tool-status">{status}</span>
      </div>
      <CallArguments args={part.call.arguments} />
      {part.result && (
        <>
          {part.result.egress && (
            <ul class="tool-egress" aria-label="network">
              {part.result.egress.map((entry) => (
                <li key={entry} class={entry.startsWith("reached ") ? "" : "bad"}>
                  {entry}
                </li>
              ))}
            </ul>
          )}
          {part.result.summary !== undefined ? (
            <FoldedOutput summary={part.result.summary} output={output} />
          ) : (
            <pre class="tool-output">{whole || !cut ? output || "(no output)" : lines.slice(0, FIRST_LINES).join("\n")}</pre>
          )}
          {part.result.screenshot !== undefined && <Screenshot path={part.result.screenshot} />}
          {cut && part.result.summary === undefined && (
            <button type="button" class="link" onClick={() => setWhole(!whole)}>
              {whole ? "Show first lines" : `Show whole output (${lines.length} lines)`}
            </button>
          )}
        </>
      )}
    </div>
  );
}

type ApprovalProps = { part: Extract<ReplyPart, { kind: "approval" }>; onAnswer?: (id: string, answer: "yes" | "no" | "always") => void };

function ApprovalPart({ part, onAnswer }: ApprovalProps) {
  const { approval } = part;
  // Answered (here, in the terminal, over HTTP): the question leaves, a line says what became of it.
  if (part.answer !== undefined)
    return (
      <div class="approval-answered">
        {approval.persona}'s {approval.call.name}: {part.by ? `answered ${part.answer} by ${part.by}` : part.answer}
      </div>
    );
  return (
    <fieldset class="approval">
      <legend>
        <strong>{approval.persona}</strong> asks to run <strong>{approval.call.name}</strong>
      </legend>
      {approval.why !== undefined && <p class="approval-why">{approval.why}</p>}
      {approval.preview ? (
        <pre class="diff">{approval.preview}</pre>
      ) : (
        <pre class="tool-args">{JSON.stringify(approval.call.arguments, null, 1)}</pre>
      )}
      {onAnswer ? (
        <div class="buttons">
          <button type="button" onClick={() => onAnswer(approval.approvalId, "yes")}>
            Approve
          </button>
          <button type="button" onClick={() => onAnswer(approval.approvalId, "no")}>
            Deny
          </button>
          {approval.choices.includes("always") && (
            <button
              type="button"
              title={`allow ${approval.persona}'s ${approval.call.name} for the rest of this session`}
              onClick={() => onAnswer(approval.approvalId, "always")}
            >
              Always
            </button>
          )}
        </div>
      ) : (
        <div class="answered">waiting for an answer</div>
      )}
    </fieldset>
  );
}

/** A reply's parts in order: text as safe Markdown, thinking folded, tool calls and approvals; its cost once it ended. */
export function ReplyBody({ reply, onAnswer }: { reply: Reply; onAnswer?: (id: string, answer: "yes" | "no" | "always") => void }) {
  // The calls a question waits on: their tool part says so rather than "running".
  const asking = new Set(reply.parts.flatMap((part) => (part.kind === "approval" && part.answer === undefined ? [part.approval.call.id] : [])));
  return (
    <div class="reply-body">
      {reply.parts.map((part, index) => {
        const key = `${index}`;
        if (part.kind === "text") return <Markdown key={key} text={part.text} />;
        if (part.kind === "thinking")
          return (
            <details key={key} class="thinking">
              <summary>Thinking</summary>
              <div class="thinking-text">{part.text}</div>
            </details>
          );
        if (part.kind === "tool") return <ToolPart key={key} part={part} asking={asking.has(part.call.id)} />;
        if (part.kind === "approval") return <ApprovalPart key={key} part={part} {...(onAnswer ? { onAnswer } : {})} />;
        return (
          <div key={key} class="progress">
            {part.step}: {part.status}
            {part.detail ? ` — ${part.detail}` : ""}
          </div>
        );
      })}
      {reply.waiting && <div class="muted">{reply.waiting}</div>}
      {reply.error && <div class="error">{reply.error}</div>}
      {reply.stats ? (
        <div class="stats">
          {statsLine(reply.stats)}
        </div>
      ) : (
        !reply.done && <div class="muted streaming">writing…</div>
      )}
    </div>
  );
}
