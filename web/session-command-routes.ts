import { readJsonBody } from "../serve/read-json-body.ts";
import { type Route, route } from "../serve/router.ts";
import { readTranscript, SessionNotFoundError } from "../room/transcript.ts";
import { HttpError } from "../serve/http-error.ts";
import type { Room } from "../room/room.ts";
import { formatRoomMode } from "../room/room-mode.ts";
import { describeCompaction } from "../room/compaction-line.ts";
import { formatContextReport } from "../room/context-report.ts";
import { roomCommandContext } from "../room/command-context.ts";
import { interpretCommand } from "../room/interpret-command.ts";
import { ToolOutputs } from "../room/tool-outputs.ts";
import { webApiSchemas } from "./web-api.ts";
import { runFactsCommand } from "../memory/facts-command.ts";
import { refusalsAs409 } from "./refusal-answer.ts";
import type { WebContext } from "./web-routes.ts";

/** `/facts [accept N | reject N]` on the workspace's memory (the server's open store, when it has one). */
function factsOf(context: WebContext): (argument: string) => string {
  return (argument) =>
    runFactsCommand(argument, {
      workspaceDir: context.workspaceDir,
      secrets: context.config.secrets,
      ...(context.memory ? { store: context.memory } : {}),
    });
}

/**
 * The session's tool results as its transcript has them: each with its data, so `/output` names a screenshot the
 * browser saved (the room's messages keep only the output).
 */
function transcriptOutputs(path: string): ToolOutputs {
  const outputs = new ToolOutputs();
  for (const line of readTranscript(path).lines) if (line.type === "tool-result") outputs.add(line.replyId, line.persona, line);
  return outputs;
}

/**
 * A line typed in the web room's message box that starts with `/`: read, checked and run by the room's one interpreter
 * as the terminal's and Telegram's lines are; the page says the answer.
 */
function commandRoute(context: WebContext, onRoom: <Value>(id: string, act: (room: Room) => Value) => Promise<Value>): Route {
  const { config, workspaceDir } = context;
  const facts = factsOf(context);
  return route("POST", "/v1/sessions/:id/command", async ({ request, params }) => {
    const { line } = await readJsonBody(request, webApiSchemas().CommandRequest, config.serve.maxBodyBytes);
    // A screenshot is named inside the session's folder: the page reads it by that path, not by one of this machine.
    const screenshotAt = (path: string) => `${path} (in the session's folder)`;
    const commands = (room: Room) =>
      roomCommandContext(room, { config, workspaceDir, facts, screenshotAt, outputs: () => transcriptOutputs(room.transcriptPath) });
    const read = await onRoom(params.id, (room) => interpretCommand(line, "web", commands(room), request.signal));
    const answer = read.type === "answer" ? { type: "answer", command: read.answer.command, ok: read.answer.ok, lines: read.answer.lines } : read;
    return Response.json(webApiSchemas().CommandAnswer.parse(answer));
  });
}

/**
 * The terminal's `/mode`, `/wish`, `/undo`, `/compact` and `/context` on a session's room (the room's own methods, as
 * the terminal's slash commands call them), and its `/facts` on the workspace's memory: what they change the room says
 * on its stream (a `mode`, a `wish` notice, a `change-undone`, a `compaction`).
 */
export function sessionCommandRoutes(context: WebContext): Route[] {
  const { sessions } = context;
  const onRoom = async <Value>(id: string, act: (room: Room) => Value): Promise<Value> => {
    const watch = await sessions.watch(id).catch((error: unknown) => {
      throw error instanceof SessionNotFoundError ? new HttpError(404, error.message) : error;
    });
    try {
      return await refusalsAs409(() => act(watch.room));
    } finally {
      watch.release();
    }
  };
  const max = context.config.serve.maxBodyBytes;
  return [
    commandRoute(context, onRoom),
    route("POST", "/v1/sessions/:id/mode", async ({ request, params }) => {
      const { mode } = await readJsonBody(request, webApiSchemas().ModeRequest, max);
      const now = await onRoom(params.id, (room) => {
        room.setMode(mode);
        return formatRoomMode(room.mode);
      });
      return Response.json(webApiSchemas().ModeAnswer.parse({ mode: now }));
    }),
    route("POST", "/v1/sessions/:id/wish", async ({ request, params }) => {
      const { text } = await readJsonBody(request, webApiSchemas().WishRequest, max);
      await onRoom(params.id, (room) => room.wish(text));
      return Response.json(webApiSchemas().WishAnswer.parse({ said: "wished: org grow reads it from this session's transcript" }));
    }),
    route("POST", "/v1/sessions/:id/undo", async ({ request, params }) => {
      const body = await readJsonBody(request, webApiSchemas().UndoRequest, max);
      const record = await onRoom(params.id, (room) => room.undo({ force: body.force ?? false }));
      const files = `${record.files.length} ${record.files.length === 1 ? "file" : "files"}`;
      return Response.json(webApiSchemas().UndoAnswer.parse({ changeId: record.id, said: `undid change ${record.id}: ${files} restored` }));
    }),
    route("POST", "/v1/sessions/:id/compact", async ({ request, params }) => {
      const { focus } = await readJsonBody(request, webApiSchemas().CompactRequest, max);
      const outcomes = await onRoom(params.id, (room) => room.compact({ ...(focus ? { focus } : {}), signal: request.signal }));
      const said = outcomes.map((outcome) =>
        outcome.ok ? describeCompaction({ ...outcome, dropped: 0 }) : `${outcome.persona}: nothing compacted (${outcome.reason})`,
      );
      return Response.json(webApiSchemas().CompactAnswer.parse({ said: said.join("\n") }));
    }),
    // The observer's proposals belong to the workspace, not a session: the room's memory answers, as /facts in the terminal.
    route("POST", "/v1/facts", async ({ request }) => {
      const { argument } = await readJsonBody(request, webApiSchemas().FactsRequest, max);
      return Response.json(webApiSchemas().FactsAnswer.parse({ said: factsOf(context)(argument) }));
    }),
    route("GET", "/v1/sessions/:id/context", async ({ request, params }) => {
      const asked = new URL(request.url).searchParams.get("persona") ?? undefined;
      const lines = await onRoom(params.id, async (room) => {
        const names = room.personas().map((persona) => persona.name);
        if (asked !== undefined && !names.includes(asked))
          throw new HttpError(404, `there is no persona "${asked}"; the room has ${names.join(", ")}`);
        const shown = asked !== undefined ? [asked] : room.mode.kind === "direct" ? [room.mode.persona] : names;
        const reports = await Promise.all(shown.map((name) => room.context(name, request.signal)));
        return reports.flatMap((report) => formatContextReport(report));
      });
      return Response.json(webApiSchemas().ContextAnswer.parse({ said: lines.join("\n") }));
    }),
  ];
}
