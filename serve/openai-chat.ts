import { z } from "zod";
import type { OrgConfig } from "../config/org-config.ts";
import type { RoomMessage } from "../personas/room-message.ts";
import type { RoomEvent, TurnSummary } from "../room/room-event.ts";
import type { Room } from "../room/room.ts";
import { scanForSecrets } from "../security/scan-for-secrets.ts";
import { type CompletionRoom, type CompletionStamp, completionStream } from "./openai-completion-stream.ts";
import { openAiUsage, turnErrorsLine } from "./openai-usage.ts";
import { type Route, route } from "./router.ts";

// serve's OpenAI chat API: GET /v1/models and POST /v1/chat/completions (streamed and not), so the `openai`
// package, the AI SDK, Open WebUI or LangChain can talk to the room. `model` is a persona (it answers, as in
// direct:<persona>) or `org` (the whole group answers, each reply beginning with the persona's name).

/** The model id that means the whole group. */
export const GROUP_MODEL = "org";

const TextPart = z.looseObject({ type: z.string(), text: z.string().optional() });
const InMessage = z.looseObject({
  role: z.string(),
  content: z.union([z.string(), z.array(TextPart), z.null()]).optional(),
  tool_calls: z.array(z.unknown()).nullish(),
});
const ChatRequest = z.looseObject({
  model: z.string().min(1).max(200),
  messages: z.array(InMessage).min(1).max(2_000),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().nullish() }).nullish(),
  tools: z.array(z.unknown()).nullish(),
  functions: z.array(z.unknown()).nullish(),
  n: z.number().int().nullish(),
});
type ChatRequest = z.infer<typeof ChatRequest>;

export type OpenAiChatOptions = {
  config: OrgConfig;
  /** When the server started (each model's `created`). */
  startedAt: number;
  maxBodyBytes: number;
  /** A room like serve's sessions get (same tools, policies, slots, audit), with `history` as its past. */
  openRoom(options: { history: RoomMessage[]; requestId: string; onEvent: (event: RoomEvent) => void }): Promise<Room>;
  /** A turn slot (serve.turns, serve.queue: a 429 HttpError past it). */
  slot(signal: AbortSignal): Promise<() => void>;
  /** Metrics and logging see every event, as for /v1/messages. */
  observe?(event: RoomEvent): void;
  readBody(request: Request, schema: typeof ChatRequest, maxBytes: number): Promise<ChatRequest>;
  logError(line: string): void;
};

/** An error in OpenAI's shape (`{ error: { message, type, param, code } }`), with org's `status` beside it. */
export function openAiError(status: number, message: string, param: string | null = null, code: string | null = null): Response {
  const type =
    status === 401
      ? "authentication_error"
      : status === 404
        ? "not_found_error"
        : status === 429
          ? "rate_limit_error"
          : status >= 500
            ? "server_error"
            : "invalid_request_error";
  return Response.json({ error: { message, type, param, code, status } }, { status });
}

/** A refusal of the request as written; becomes a 4xx in OpenAI's shape. */
class ChatRequestError extends Error {
  override name = "ChatRequestError";
  constructor(
    readonly status: number,
    message: string,
    readonly param: string | null,
    readonly code: string | null = null,
  ) {
    super(message);
  }
}

function textOf(message: z.infer<typeof InMessage>, index: number): string {
  const { content } = message;
  if (content === undefined || content === null) return "";
  if (typeof content === "string") return content;
  return content
    .map((part, at) => {
      if (part.type !== "text" || typeof part.text !== "string") {
        throw new ChatRequestError(
          400,
          `messages[${index}].content[${at}] is a ${JSON.stringify(part.type).slice(0, 40)} part; org's personas read text only.`,
          `messages[${index}].content`,
        );
      }
      return part.text;
    })
    .join("");
}

/** Splits a group answer ("agent: …\n\npython: …") back into the personas' messages; text before any name is the first persona's. */
function splitGroupAnswer(text: string, personas: readonly string[]): { from: string; text: string }[] {
  const names = personas.map((name) => name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|");
  const first = personas[0];
  if (names === "" || first === undefined) return [];
  const parts: { from: string; text: string }[] = [];
  const heading = new RegExp(`^(${names}): ?`, "gm");
  let last = 0;
  let from = first;
  for (const found of text.matchAll(heading)) {
    const before = text.slice(last, found.index).trim();
    if (before) parts.push({ from, text: before });
    from = found[1] ?? from;
    last = (found.index ?? 0) + found[0].length;
  }
  const rest = text.slice(last).trim();
  if (rest) parts.push({ from, text: rest });
  return parts;
}

/**
 * The client's messages as the room's past, and the last user message as the one to send. Every earlier
 * message, whatever its role, passes the inbound credential guard's scan here (clients resend the whole
 * history); the last goes through it in the room's turn, which says so with a notice.
 */
function conversation(
  body: ChatRequest,
  personas: readonly string[],
  target: string | undefined,
  secrets: readonly string[],
): { history: RoomMessage[]; text: string } {
  const audience = target ? [target] : [...personas];
  const history: RoomMessage[] = [];
  const time = new Date().toISOString();
  body.messages.forEach((message, index) => {
    const say = (from: string, text: string) =>
      history.push({
        id: `openai-${index}-${history.length}`,
        turnId: `openai-${index}`,
        from,
        text,
        time,
        heardBy: audience,
        addressed: from === "user" ? audience : [],
      });
    if (message.role === "tool" || message.role === "function" || (message.tool_calls && message.tool_calls.length > 0)) {
      throw new ChatRequestError(
        400,
        `messages[${index}] is a tool ${message.role === "assistant" ? "call" : "result"}; org runs its own ` +
          `tools inside its sandbox, so a conversation cannot carry the client's tool calls.`,
        `messages[${index}]`,
      );
    }
    const written = textOf(message, index);
    const text = index === body.messages.length - 1 ? written : scanForSecrets(written, secrets).redacted;
    if (message.role === "user") say("user", text);
    else if (message.role === "system" || message.role === "developer") say("user", `(instructions) ${text}`);
    else if (message.role === "assistant") {
      if (target) say(target, text);
      else for (const part of splitGroupAnswer(text, personas)) say(part.from, part.text);
    } else
      throw new ChatRequestError(
        400,
        `messages[${index}].role ${JSON.stringify(message.role).slice(0, 40)} is not one of system, developer, user, assistant.`,
        `messages[${index}].role`,
      );
  });
  const last = history.at(-1);
  if (last?.from !== "user" || body.messages.at(-1)?.role !== "user" || last.text.trim() === "") {
    throw new ChatRequestError(400, "the last message must be the user's, with text: it is what the personas answer.", "messages");
  }
  history.pop();
  return { history, text: last.text };
}

/** A turn's request as org reads it: the persona asked (none: the group), the room's past and the message to answer. */
type ChatTurn = { target: string | undefined; history: RoomMessage[]; text: string };

/** The request checked against what org serves; a ChatRequestError says what to change. */
function readChatTurn(body: ChatRequest, personas: readonly string[], secrets: readonly string[]): ChatTurn {
  if (body.model !== GROUP_MODEL && !personas.includes(body.model)) {
    throw new ChatRequestError(
      404,
      `there is no model ${JSON.stringify(body.model).slice(0, 100)}: ask a persona (${personas.join(", ")}) ` +
        `or "${GROUP_MODEL}" for the whole group; GET /v1/models lists them.`,
      "model",
      "model_not_found",
    );
  }
  const target = body.model === GROUP_MODEL ? undefined : body.model;
  if ((body.tools?.length ?? 0) > 0 || (body.functions?.length ?? 0) > 0) {
    throw new ChatRequestError(
      400,
      "tools sent by the client are not supported: org's personas run their own tools, sandboxed, under their " +
        "policy. Send the request without `tools`.",
      body.tools ? "tools" : "functions",
      "tools_not_supported",
    );
  }
  if (body.n !== undefined && body.n !== null && body.n !== 1) throw new ChatRequestError(400, "n must be 1: each persona answers once.", "n");
  return { target, ...conversation(body, personas, target, secrets) };
}

/** A room for one completion, in a turn slot, with `history` as its past and in direct mode when a persona was asked. */
async function openCompletionRoom(options: OpenAiChatOptions, turn: ChatTurn, requestId: string, signal: AbortSignal): Promise<CompletionRoom> {
  const release = await options.slot(signal);
  const listeners = new Set<(event: RoomEvent) => void>();
  let room: Room;
  try {
    room = await options.openRoom({
      history: turn.history,
      requestId,
      onEvent: (event) => {
        options.observe?.(event);
        for (const listener of listeners) listener(event);
      },
    });
    if (turn.target) room.setMode(`direct:${turn.target}`);
  } catch (error) {
    release();
    throw error;
  }
  return {
    room,
    listen: (listener) => listeners.add(listener),
    finish: async () => {
      await room.close().catch(() => {});
      release();
    },
  };
}

/** `stream` unset: the turn's answer as one `chat.completion`, or a 502 when no persona answered. */
function completionJson(
  summary: TurnSummary,
  target: string | undefined,
  personas: readonly string[],
  stamp: CompletionStamp,
  headers: Record<string, string>,
): Response {
  // In direct mode only the addressed persona's replies are the answer; a hop to another persona is not.
  const counts = (persona: string) => target === undefined || persona === target;
  // A reply that broke off keeps what arrived, and says so.
  const textOf = (message: RoomMessage) =>
    message.failed && message.text.trim() !== "" ? `${message.text}\n\n(the reply broke off: ${message.failed})` : message.text;
  // The personas answer at once and finish in any order: the choices follow the room's order of personas (each one's
  // replies in the order it wrote them), so a client reads the same turn the same way every time.
  const place = (persona: string) => {
    const at = personas.indexOf(persona);
    return at < 0 ? personas.length : at;
  };
  const replies = summary.messages
    .filter((message) => message.from !== "user" && counts(message.from) && message.text.trim() !== "")
    .map((message) => ({ ...message, text: textOf(message) }))
    .sort((a, b) => place(a.from) - place(b.from));
  if (replies.length === 0) {
    const why = turnErrorsLine(summary) || "no persona answered";
    return openAiError(502, `the room gave no answer: ${why}`, null, "no_answer");
  }
  const choices = target
    ? [
        {
          index: 0,
          message: { role: "assistant", content: replies.map((reply) => reply.text).join("\n\n"), refusal: null },
          logprobs: null,
          finish_reason: "stop",
        },
      ]
    : replies.map((reply, index) => ({
        index,
        message: { role: "assistant", content: `${reply.from}: ${reply.text}`, refusal: null },
        logprobs: null,
        finish_reason: "stop",
      }));
  const { id, created, model } = stamp;
  return Response.json(
    { id, object: "chat.completion", created, model, choices, usage: openAiUsage(summary.stats), system_fingerprint: null },
    { headers },
  );
}

/** `POST /v1/chat/completions`: one turn of a fresh room holding the client's conversation. */
async function chatCompletion(options: OpenAiChatOptions, personas: readonly string[], request: Request, requestId: string): Promise<Response> {
  const body = await options.readBody(request, ChatRequest, options.maxBodyBytes);
  let turn: ChatTurn;
  try {
    turn = readChatTurn(body, personas, options.config.secrets);
  } catch (error) {
    if (error instanceof ChatRequestError) return openAiError(error.status, error.message, error.param, error.code);
    throw error;
  }
  const stop = new AbortController();
  const signal = AbortSignal.any([request.signal, stop.signal]);
  const opened = await openCompletionRoom(options, turn, requestId, signal);
  const stamp = { id: `chatcmpl-${crypto.randomUUID().replace(/-/g, "")}`, created: Math.floor(Date.now() / 1000), model: body.model };
  const headers = { "x-request-id": requestId, "x-org-session": opened.room.sessionId };
  if (!body.stream) {
    let summary: TurnSummary;
    try {
      summary = await opened.room.send(turn.text, { signal });
    } finally {
      await opened.finish();
    }
    return completionJson(summary, turn.target, personas, stamp, headers);
  }
  const stream = completionStream({
    turn: opened,
    text: turn.text,
    target: turn.target,
    stamp,
    includeUsage: body.stream_options?.include_usage === true,
    signal,
    stop,
    requestId,
    logError: options.logError,
  });
  return new Response(stream, { headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", ...headers } });
}

/** The OpenAI chat API over the room; each route answers, and throws nothing but HttpErrors of the limits (429, 413, 415). */
export function openAiChatRoutes(options: OpenAiChatOptions): Route[] {
  const personas = options.config.personas.map((persona) => persona.name);
  const created = Math.floor(options.startedAt / 1000);
  const ids = [...personas.filter((name) => name !== GROUP_MODEL), GROUP_MODEL];
  const modelObject = (id: string) => ({ id, object: "model", created, owned_by: "org" });
  return [
    route("GET", "/v1/models", () => Response.json({ object: "list", data: ids.map(modelObject) })),
    // One model, or OpenAI's 404.
    route("GET", "/v1/models/:id", ({ params }) => {
      if (!ids.includes(params.id))
        return openAiError(
          404,
          `there is no model ${JSON.stringify(params.id).slice(0, 100)}; the models are ${ids.join(", ")}.`,
          "model",
          "model_not_found",
        );
      return Response.json(modelObject(params.id));
    }),
    route("POST", "/v1/chat/completions", ({ request, requestId }) => chatCompletion(options, personas, request, requestId)),
  ];
}
