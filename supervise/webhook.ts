import { z } from "zod";
import { createHmac } from "node:crypto";
import { hostname } from "node:os";
import { withoutUserinfo } from "../llm/server-url.ts";
import { redact } from "../security/redact.ts";
import { secretsOf, type SuperviseContext } from "./supervise-check.ts";

/** The header that carries the HMAC-SHA256 of the body, hex, when `supervise.webhookSecret` names a set variable. */
export const SIGNATURE_HEADER = "x-org-signature";
const SEND_TIMEOUT_MS = 10_000;
/** Discord refuses `content` past 2 000 characters. */
const MAX_TEXT = 1_900;
/** A message held for its quiet time, as the state keeps it. */
const HeldMessage = z.object({ text: z.string(), at: z.number() });
/** What an incident's held messages are: every one said within its quiet time, oldest first (one, as older versions kept it). */
const Held = z.union([z.array(HeldMessage), HeldMessage.transform((message) => [message])]);
type Held = z.output<typeof Held>;
/** A held message older than this is dropped rather than sent late. */
const MAX_HELD_MS = 24 * 3_600_000;

/** What leaves org for the webhook: every secret the redactor knows and the room's, and URL credentials, removed. */
export function safeText(text: string, secrets: readonly string[]): string {
  return redact(withoutUserinfo(text), secrets).slice(0, MAX_TEXT);
}

/** The JSON a webhook gets: `text` (Slack, Mattermost), `content` (Discord), and what org knows of the event. */
export function webhookBody(text: string, at: number, key: string): string {
  return JSON.stringify({ text, content: text, source: "org supervise", host: hostname(), key, time: new Date(at).toISOString() });
}

/** The signature header of a body: `sha256=<hex HMAC-SHA256 of the body under the secret>`. */
export function signBody(body: string, secret: string): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

async function post(context: SuperviseContext, key: string, text: string): Promise<string | undefined> {
  const { webhook, webhookSecret } = context.config.supervise;
  if (webhook === undefined) return undefined;
  const body = webhookBody(text, context.now(), key);
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (webhookSecret !== undefined) {
    const secret = context.webhookSecret;
    if (secret === undefined)
      return `not sent: supervise.webhookSecret names ${webhookSecret}, which is not set (nothing is sent unsigned when a secret is asked for)`;
    headers[SIGNATURE_HEADER] = signBody(body, secret);
  }
  try {
    const response = await fetch(webhook, {
      method: "POST",
      headers,
      body,
      redirect: "manual",
      signal: AbortSignal.any([context.signal, AbortSignal.timeout(SEND_TIMEOUT_MS)]),
    });
    await response.body?.cancel().catch(() => {});
    return response.ok ? undefined : `the webhook answered HTTP ${response.status}`;
  } catch (error) {
    return `the webhook did not take it: ${error instanceof Error ? error.message : String(error)}`;
  }
}

function heldOf(context: SuperviseContext, key: string): { sentAt: number | null; held: Held } | undefined {
  const row = context.state.db
    .query<{ sentAt: number | null; pending: string | null }, [string]>("SELECT sent_at AS sentAt, pending FROM notices WHERE key = ?")
    .get(key);
  if (!row) return undefined;
  const held = row.pending === null ? undefined : Held.safeParse(JSON.parse(row.pending));
  return { sentAt: row.sentAt, held: held?.success ? held.data : [] };
}

/**
 * Says one thing about an incident (`key`: its id): recorded as an event, and posted to the webhook, at most once per
 * incident within `supervise.quietMinutes`; what comes within the quiet time is held, every message of it, and sent as
 * one message when the quiet time ends. What is sent is redacted.
 */
export async function notify(context: SuperviseContext, key: string, message: string): Promise<void> {
  const text = safeText(`[org supervise] ${message}`, secretsOf(context));
  const now = context.now();
  context.state.event("notice", text, now);
  if (context.config.supervise.webhook === undefined) return;
  const quietMs = context.config.supervise.quietMinutes * 60_000;
  const last = heldOf(context, key);
  if (last?.sentAt != null && now - last.sentAt < quietMs) {
    context.state.db.query("UPDATE notices SET pending = ? WHERE key = ?").run(JSON.stringify([...last.held, { text, at: now }]), key);
    return;
  }
  await send(context, key, [...(last?.held ?? []), { text, at: now }]);
}

/** Held messages as one: each on its line, the oldest left out (and counted) when they would not fit. */
function joined(held: Held): string {
  const lines = held.map((message) => message.text);
  let kept = lines.length;
  const left = () => lines.length - kept;
  const text = () => `${left() > 0 ? `(${left()} earlier message${left() === 1 ? "" : "s"} of this incident left out)\n` : ""}${lines.slice(-kept).join("\n")}`;
  while (kept > 1 && text().length > MAX_TEXT) kept -= 1;
  return text().slice(0, MAX_TEXT);
}

async function send(context: SuperviseContext, key: string, held: Held): Promise<void> {
  const problem = await post(context, key, joined(held));
  const now = context.now();
  if (problem === undefined) {
    context.state.db
      .query("INSERT INTO notices (key, sent_at, pending) VALUES (?1, ?2, NULL) ON CONFLICT (key) DO UPDATE SET sent_at = ?2, pending = NULL")
      .run(key, now);
    return;
  }
  context.state.event("webhook", problem, now);
  context.state.db
    .query("INSERT INTO notices (key, sent_at, pending) VALUES (?1, NULL, ?2) ON CONFLICT (key) DO UPDATE SET pending = ?2")
    .run(key, JSON.stringify(held));
}

/** Sends the held messages whose quiet time is over (and retries those the webhook did not take). */
export async function flushNotices(context: SuperviseContext): Promise<void> {
  if (context.config.supervise.webhook === undefined) return;
  const now = context.now();
  const quietMs = context.config.supervise.quietMinutes * 60_000;
  const held = context.state.db
    .query<{ key: string; sentAt: number | null; pending: string }, []>("SELECT key, sent_at AS sentAt, pending FROM notices WHERE pending IS NOT NULL")
    .all();
  for (const row of held) {
    if (row.sentAt !== null && now - row.sentAt < quietMs) continue;
    const parsed = Held.safeParse(JSON.parse(row.pending));
    const pending = parsed.success ? parsed.data.filter((message) => now - message.at <= MAX_HELD_MS) : [];
    if (pending.length === 0) {
      context.state.db.query("UPDATE notices SET pending = NULL WHERE key = ?").run(row.key);
      continue;
    }
    await send(context, row.key, pending);
  }
}
