import { z } from "zod";
import { hostname } from "node:os";
import { environmentVariable } from "../config/environment.ts";
import type { OrgConfig } from "../config/org-config.ts";
import { withoutUserinfo } from "../llm/server-url.ts";
import { redact } from "../security/redact.ts";
import { oneLine } from "../security/terminal-sanitizer.ts";
import { secretsOf, type SuperviseContext } from "./supervise-check.ts";
import { type NoticeChannel, TELEGRAM_NOTICE_PREFIX, telegramChannels } from "./telegram-notices.ts";

/** The header that carries the HMAC-SHA256 of the body, hex, when `supervise.webhookSecret` names a set variable. */
export const SIGNATURE_HEADER = "x-org-signature";
const SEND_TIMEOUT_MS = 10_000;
/** Discord refuses `content` past 2 000 characters. */
const MAX_TEXT = 1_900;

/**
 * What a webhook message says of its incident: `opened`, `fixed` (a fix that changed what a person finds: a rollback, a
 * restore), `gave-up` (a person is needed), `diagnosis` and `recovered` are each said once, at once; `changed` (the
 * problem took another form), `fix-failed` (a try that did not work) and `state` (the supervisor's own state file) are
 * news that repeats, held within `supervise.quietMinutes`.
 */
export const NOTICE_KINDS = [
  "opened",
  "changed",
  "fixed",
  "fix-failed",
  "gave-up",
  "diagnosis",
  "recovered",
  "state",
  "scheduled",
  "idle",
  "share",
] as const;
export type NoticeKind = (typeof NOTICE_KINDS)[number];
// `scheduled`: a schedule's run and how it ended (`notify: true`), once per run; `share`: a teammate's recall, once per offer.
const SAID_AT_ONCE: ReadonlySet<NoticeKind> = new Set(["opened", "fixed", "gave-up", "diagnosis", "recovered", "scheduled", "idle", "share"]);

/** One thing the supervisor says: of which incident (its id, or `supervisor`), what kind of news, `once` what makes it one of a kind (a fix's id). */
export type Notice = { incident: string; kind: NoticeKind; text: string; once?: string };

/** A message held for its quiet time, as the state keeps it. */
const HeldMessage = z.object({ text: z.string(), at: z.number() });
/** What a key's held messages are: every one said within its quiet time, oldest first (one, as older versions kept it). */
const Held = z.union([z.array(HeldMessage), HeldMessage.transform((message) => [message])]);
type Held = z.output<typeof Held>;
/** A held message older than this is dropped rather than sent late. */
const MAX_HELD_MS = 24 * 3_600_000;

/**
 * Where the supervisor's messages go: `supervise.webhook`, and the environment variable whose value signs them. The one
 * place the webhook's settings are read (a setting that sends something out is gated here).
 */
export function webhookOf(config: OrgConfig): { url: string; secretVariable?: string } | undefined {
  const { webhook, webhookSecret } = config.supervise;
  if (webhook === undefined) return undefined;
  return { url: webhook, ...(webhookSecret !== undefined ? { secretVariable: webhookSecret } : {}) };
}

/** The value of the variable `supervise.webhookSecret` names, when it is set: the key of the webhook's signature. */
export function webhookSigningKey(config: OrgConfig): { webhookSecret?: string } {
  const name = webhookOf(config)?.secretVariable;
  const value = name === undefined ? undefined : environmentVariable(name);
  return value === undefined ? {} : { webhookSecret: value };
}

/** What leaves org for the webhook: every secret the redactor knows and the room's, and URL credentials, removed; one line. */
export function safeText(text: string, secrets: readonly string[]): string {
  return oneLine(redact(withoutUserinfo(text), secrets), MAX_TEXT);
}

/** The JSON a webhook gets: `text` (Slack, Mattermost), `content` (Discord), and what org knows of the event. */
export function webhookBody(text: string, at: number, key: string, kind: NoticeKind): string {
  return JSON.stringify({ text, content: text, source: "org supervise", host: hostname(), key, kind, time: new Date(at).toISOString() });
}

/** The signature header of a body: `sha256=<hex HMAC-SHA256 of the body under the secret>`. */
export function signBody(body: string, secret: string): string {
  return `sha256=${new Bun.CryptoHasher("sha256", secret).update(body).digest("hex")}`;
}

async function postToWebhook(
  context: SuperviseContext,
  target: { url: string; secretVariable?: string },
  key: { incident: string; kind: NoticeKind },
  text: string,
): Promise<string | undefined> {
  const body = webhookBody(text, context.now(), key.incident, key.kind);
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (target.secretVariable !== undefined) {
    const secret = context.webhookSecret;
    if (secret === undefined)
      return (
        `not sent: supervise.webhookSecret names ${target.secretVariable}, which is not set (nothing is ` +
        `sent unsigned when a secret is asked for)`
      );
    headers[SIGNATURE_HEADER] = signBody(body, secret);
  }
  try {
    const response = await fetch(target.url, {
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

/** Where the supervisor's messages go now: the webhook, and each allowed Telegram chat when `supervise.telegram` is on. */
function channelsOf(context: SuperviseContext): NoticeChannel[] {
  const target = webhookOf(context.config);
  const webhook: NoticeChannel[] = target ? [{ prefix: "", post: (key, text) => postToWebhook(context, target, key, text) }] : [];
  return [...webhook, ...telegramChannels(context)];
}

/** The channel whose records `key` is among: a Telegram chat's by its prefix, else the webhook's (which has none). */
function channelOfKey(channels: readonly NoticeChannel[], key: string): NoticeChannel | undefined {
  if (key.startsWith(TELEGRAM_NOTICE_PREFIX)) return channels.find((channel) => channel.prefix !== "" && key.startsWith(channel.prefix));
  return channels.find((channel) => channel.prefix === "");
}

/** The notices table's key of a notice: its incident and kind, and for news said once, what makes it one of a kind. */
function keyOf(notice: Pick<Notice, "incident" | "kind" | "once">): string {
  return `${notice.incident}:${notice.kind}${notice.once === undefined ? "" : `:${notice.once}`}`;
}

/** A notices key read back: its incident and kind (a key of an older version, the incident's id alone, is news that repeats). */
function partsOf(key: string): { incident: string; kind: NoticeKind } {
  for (const kind of NOTICE_KINDS) {
    const at = key.indexOf(`:${kind}`);
    if (at > 0 && (key.length === at + kind.length + 1 || key[at + kind.length + 1] === ":")) return { incident: key.slice(0, at), kind };
  }
  return { incident: key, kind: "changed" };
}

type NoticeRow = { key: string; sentAt: number | null; pending: string | null };

function rowOf(context: SuperviseContext, key: string): NoticeRow | undefined {
  return context.state.db.query<NoticeRow, [string]>("SELECT key, sent_at AS sentAt, pending FROM notices WHERE key = ?").get(key) ?? undefined;
}

function heldIn(row: NoticeRow | undefined): Held {
  if (row?.pending == null) return [];
  const parsed = Held.safeParse(JSON.parse(row.pending));
  return parsed.success ? parsed.data : [];
}

/**
 * Says one thing about an incident: recorded as an event, and posted to the webhook, redacted and on one line. News said
 * once (an opening, a fix that changed things, giving up, a diagnosis, the recovery) goes at once, never twice; news
 * that repeats goes at most once per incident and kind within `supervise.quietMinutes`, what comes within it held and
 * sent as one message when it ends, or with the incident's next message said at once, whichever comes first.
 */
export async function notify(context: SuperviseContext, notice: Notice): Promise<void> {
  const text = safeText(`[org supervise] ${notice.text}`, secretsOf(context));
  const now = context.now();
  const key = keyOf(SAID_AT_ONCE.has(notice.kind) ? notice : { incident: notice.incident, kind: notice.kind });
  const channels = channelsOf(context);
  if (SAID_AT_ONCE.has(notice.kind) && channels.length > 0 && channels.every((channel) => rowOf(context, channel.prefix + key) !== undefined)) return;
  if (SAID_AT_ONCE.has(notice.kind) && channels.length === 0 && rowOf(context, key) !== undefined) return;
  context.state.event("notice", text, now);
  for (const channel of channels) await notifyOn(context, channel, { ...notice, text }, key, now);
}

/** One channel's part of `notify`: at once, or held for the quiet time, under the channel's own records. */
async function notifyOn(context: SuperviseContext, channel: NoticeChannel, notice: Notice, key: string, now: number): Promise<void> {
  const own = channel.prefix + key;
  const last = rowOf(context, own);
  if (SAID_AT_ONCE.has(notice.kind)) {
    if (last !== undefined) return;
    await send(context, channel, own, [...takeEarlierOf(context, channel, notice.incident, own, true), { text: notice.text, at: now }]);
    return;
  }
  const quietMs = context.config.supervise.quietMinutes * 60_000;
  if (last?.sentAt != null && now - last.sentAt < quietMs) {
    context.state.db
      .query("UPDATE notices SET pending = ? WHERE key = ?")
      .run(JSON.stringify([...heldIn(last), { text: notice.text, at: now }]), own);
    return;
  }
  await send(context, channel, own, [
    ...takeEarlierOf(context, channel, notice.incident, own, false),
    ...heldIn(last),
    { text: notice.text, at: now },
  ]);
}

/**
 * The messages of an incident said before and not sent yet on `channel`, taken out to go first with the message about to
 * be sent (`own`): those the channel did not take (any kind), and with `held`, those held for their quiet time. Oldest
 * first, so the channel hears an incident's news in the order it happened.
 */
function takeEarlierOf(context: SuperviseContext, channel: NoticeChannel, incident: string, own: string, held: boolean): Held {
  const start = `${channel.prefix}${incident}`;
  const rows = context.state.db
    .query<NoticeRow, [string, string]>(
      "SELECT key, sent_at AS sentAt, pending FROM notices WHERE pending IS NOT NULL AND key <> ?2 AND " +
        "substr(key, 1, length(?1) + 1) = ?1 || ':' ORDER BY rowid",
    )
    .all(start, own)
    .filter((row) => {
      const parts = partsOf(row.key.slice(channel.prefix.length));
      return parts.incident === incident && (row.sentAt === null || (held && !SAID_AT_ONCE.has(parts.kind)));
    });
  const earlier = rows.flatMap((row) => heldIn(row)).filter((message) => context.now() - message.at <= MAX_HELD_MS);
  for (const row of rows) context.state.db.query("UPDATE notices SET pending = NULL WHERE key = ?").run(row.key);
  return earlier.sort((a, b) => a.at - b.at);
}

/** Held messages as one: each on its line, the oldest left out (and counted) when they would not fit. */
function joined(held: Held): string {
  const lines = held.map((message) => message.text);
  let kept = lines.length;
  const left = () => lines.length - kept;
  const text = () =>
    `${left() > 0 ? `(${left()} earlier message${left() === 1 ? "" : "s"} of this incident left out)\n` : ""}${lines.slice(-kept).join("\n")}`;
  while (kept > 1 && text().length > MAX_TEXT) kept -= 1;
  return text().slice(0, MAX_TEXT);
}

async function send(context: SuperviseContext, channel: NoticeChannel, key: string, held: Held): Promise<void> {
  const problem = await channel.post(partsOf(key.slice(channel.prefix.length)), joined(held));
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

/** Sends the held messages whose quiet time is over, and tries again those a channel did not take (oldest first). */
export async function flushNotices(context: SuperviseContext): Promise<void> {
  const channels = channelsOf(context);
  if (channels.length === 0) return;
  const now = context.now();
  const quietMs = context.config.supervise.quietMinutes * 60_000;
  const held = context.state.db
    .query<NoticeRow, []>("SELECT key, sent_at AS sentAt, pending FROM notices WHERE pending IS NOT NULL ORDER BY rowid")
    .all();
  for (const row of held) {
    const channel = channelOfKey(channels, row.key);
    if (channel === undefined || (row.sentAt !== null && now - row.sentAt < quietMs)) continue;
    const pending = heldIn(row).filter((message) => now - message.at <= MAX_HELD_MS);
    if (pending.length === 0) {
      context.state.db.query("UPDATE notices SET pending = NULL WHERE key = ?").run(row.key);
      continue;
    }
    await send(context, channel, row.key, pending);
  }
}
