import { z } from "zod";
import { Duration } from "./duration.ts";

/** The fixes `org supervise` knows; a model's diagnosis may only name one of these, never a command. */
export const FIX_ACTIONS = [
  "restart-current",
  "rollback-promotion",
  "pause-grow",
  "free-disk",
  "clear-stale-lock",
  "remove-leftovers",
  "rebuild-registry",
  "restore-memory",
  "hold-mcp-server",
  "hand-to-grow",
  "rotate-logs",
  "finish-interrupted",
] as const;
export const FixAction = z.enum(FIX_ACTIONS);
export type FixAction = z.infer<typeof FixAction>;

/**
 * What applies without a person by default: the fixes that only restart, clear, archive, prune, rebuild, restore, pause
 * or roll back one promotion through its journal. Finishing another run's interrupted promotion waits for
 * `org supervise apply ID`.
 */
export const DEFAULT_AUTO_FIX: readonly FixAction[] = FIX_ACTIONS.filter((action) => action !== "finish-interrupted");

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * `supervise.idleWork`: bounded work the supervisor does on its own once no person has written in any session for
 * `afterMinutes` (held-out examples of the promoted tools, failed scheduled workflows again, one "what next?" to a
 * model); off unless set here (confirmed with `org config trust`) or `org supervise --idle-work` is given.
 */
export const IdleWorkSettings = z.strictObject({
  /** Minutes without a person's message in any session before idle work may start. */
  afterMinutes: z.number().positive().max(10_080).default(30),
  /** Minutes one round's idle work may take in all; it stops at the next step past them. */
  maxMinutes: z.number().positive().max(1_440).default(10),
  /** Model tokens (prompt and completion) one round's idle work may spend. */
  maxTokens: z.int().min(1).max(10_000_000).default(20_000),
  /** Actions (a tool's example run, a workflow run, a question, a proposed run) in one round. */
  maxActionsPerRound: z.int().min(1).max(1000).default(10),
});
export type IdleWorkSettings = z.output<typeof IdleWorkSettings>;

/** `org supervise`'s settings (`supervise` in org.config.json); every field has a default. */
export const SuperviseSettings = z.strictObject({
  /** How long `org supervise` waits between rounds of checks: "60s", "5m", or seconds. */
  every: Duration.default(60_000),
  /** The first wait between two restarts of current; doubled for each further restart in `window`. */
  backoff: Duration.default(10_000),
  /** Restarts of current (or of an MCP server) within `window` after which the supervisor escalates. */
  maxRestarts: z.int().min(1).max(100).default(3),
  /** The sliding window restarts, repeated errors and failures are counted in. */
  window: Duration.default(600_000),
  /** Free space (MiB) under which the workspace's or the checkout's disk counts as full. */
  minFreeMiB: z.int().min(1).max(10_000_000).default(1024),
  /** Fitness report folders kept (newest first) when the disk is full; a live candidate's are always kept. */
  keepReports: z.int().min(1).max(100_000).default(50),
  /** Fixes applied without a person; the rest wait for `org supervise apply ID`. */
  autoFix: z
    .array(FixAction)
    .max(FIX_ACTIONS.length)
    .default([...DEFAULT_AUTO_FIX]),
  /** A URL that gets each incident and recovery as a JSON POST (`text` for Slack and Mattermost, `content` for Discord). */
  webhook: z.url({ protocol: /^https?$/ }).optional(),
  /** The environment variable holding the secret of the HMAC-SHA256 signature header the webhook's POSTs carry. */
  webhookSecret: z.string().regex(ENV_NAME, "an environment variable name: letters, digits and '_'").optional(),
  /** Send each incident and recovery to the chats of `telegram.allowedChats` too, through the bot TELEGRAM_BOT_TOKEN names. */
  telegram: z.boolean().default(false),
  /** At most one webhook (or Telegram) message per incident within this many minutes (0: every message). */
  quietMinutes: z.number().min(0).max(10_080).default(60),
  /** How often an error that matches no known pattern must repeat within a day to be an incident (it is over once it stops for its beat, at least
   * `window`).
   */
  incidentRepeats: z.int().min(1).max(10_000).default(3),
  /** A transcript, audit day or log file over this many MiB is rotated (gzipped into .org/archive/). */
  logCapMiB: z.number().positive().max(1_000_000).default(64),
  /** When transcripts and audit days together pass this many MiB, the oldest are rotated until they fit. */
  logsTotalMiB: z.number().positive().max(10_000_000).default(1024),
  /** Transcripts and audit days older than this many days are archived when the disk is full. */
  archiveAfterDays: z.number().positive().max(36_500).default(30),
  /** How long a SQLite file may stay locked before it counts as stuck. */
  lockBound: Duration.default(30_000),
  /** Idle work (off when absent): see `IdleWorkSettings`. */
  idleWork: IdleWorkSettings.optional(),
});
export type SuperviseSettings = z.output<typeof SuperviseSettings>;

/** Backups kept by `backup.keep`: the newest of each of the last `daily` days and of the last `weekly` weeks. */
const BackupKeep = z.strictObject({
  daily: z.int().min(0).max(3650).default(7),
  weekly: z.int().min(0).max(520).default(4),
});

/** `org backup`'s settings (`backup` in org.config.json). */
export const BackupSettings = z.strictObject({
  keep: BackupKeep.default({ daily: 7, weekly: 4 }),
  /** Where backups go (default `.org/backups/` of the workspace; put them on another disk to survive it). */
  dir: z.string().min(1).max(4096).optional(),
});
export type BackupSettings = z.output<typeof BackupSettings>;
