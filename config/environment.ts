// The one module that reads process.env; everything else asks here (config/'s loaders take what it gives them).
import { urlCredentials } from "../llm/server-url.ts";
import { namesSecretVariable } from "./secret-names.ts";
import { OrgError } from "../errors/org-error.ts";

export const DEFAULT_OLLAMA_BASE = "http://127.0.0.1:11434";
export const DEFAULT_MODEL = "qwen3:8b";
/** The embedding model `tool search` asks `/api/embed` for, unless ORG_EMBED_MODEL names another (or `off`). */
export const DEFAULT_EMBED_MODEL = "nomic-embed-text";

/** An environment variable holds a value org cannot use; the message says which values it takes. */
export class EnvironmentError extends OrgError {
  override name = "EnvironmentError";
}

/** `host:port` as Ollama's own OLLAMA_HOST takes it gets the http:// a URL needs. */
function serverUrlOf(value: string): string {
  const url = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`;
  return url.replace(/\/+$/, "");
}

/** Settings that come from the environment, with their defaults. */
export function environmentSettings(env: NodeJS.ProcessEnv = process.env) {
  if (env.ORG_SANDBOX !== undefined && !["", "on", "off"].includes(env.ORG_SANDBOX)) {
    throw new EnvironmentError(
      `ORG_SANDBOX=${env.ORG_SANDBOX} is not a setting org knows: leave it unset (or 'on') to sandbox every ` +
        `tool, or 'off' to run them on the host unsandboxed`,
    );
  }
  if (env.ORG_PREBUILT !== undefined && !["", "on", "off"].includes(env.ORG_PREBUILT)) {
    throw new EnvironmentError(
      `ORG_PREBUILT=${env.ORG_PREBUILT} is not a setting org knows: leave it unset to run the prebuilt bundle of org's ` +
        `code (npm run build) when it matches the code and the command loads more than the bundle costs, 'on' to run it ` +
        `for every command but help, or 'off' to always run the source files`,
    );
  }
  const profile = profileOf(env);
  if (profile === "prod" && env.ORG_SANDBOX === "off") {
    throw new EnvironmentError(
      "ORG_SANDBOX=off is refused under ORG_PROFILE=prod: production runs every tool in the sandbox. Unset ORG_SANDBOX, or use ORG_PROFILE=dev",
    );
  }
  return {
    /** ORG_PROFILE: `dev` (the default) or `prod` (auth even on loopback, fsync, sandbox always, web_fetch default-deny). */
    profile,
    /** Whether the jobs' write-ahead log and the transcripts are fsynced: ORG_FSYNC=on|off, else on under prod. */
    fsync: onOff(env, "ORG_FSYNC") ?? profile === "prod",
    ollamaBase: serverUrlOf(env.OLLAMA_BASE?.trim() || DEFAULT_OLLAMA_BASE),
    ollamaModel: env.OLLAMA_MODEL?.trim() || DEFAULT_MODEL,
    /** Where `ollamaModel` came from, for messages that tell the user where to change it. */
    ollamaModelSource: env.OLLAMA_MODEL?.trim() ? "OLLAMA_MODEL" : "OLLAMA_MODEL (unset: org's default model)",
    /** `ORG_SANDBOX=off` runs model-made commands unsandboxed; only by explicit, loud opt-in. */
    sandboxDisabled: env.ORG_SANDBOX === "off",
    noColor: env.NO_COLOR !== undefined && env.NO_COLOR !== "",
    apiKey: env.OPENAI_API_KEY?.trim() || undefined,
    /** The model tool search embeds with; undefined when ORG_EMBED_MODEL=off (full-text search alone). */
    embedModel: env.ORG_EMBED_MODEL?.trim() === "off" ? undefined : env.ORG_EMBED_MODEL?.trim() || DEFAULT_EMBED_MODEL,
    /** The server of `/api/embed`: ORG_EMBED_BASE, else OLLAMA_BASE. */
    embedBase: serverUrlOf(env.ORG_EMBED_BASE?.trim() || env.OLLAMA_BASE?.trim() || DEFAULT_OLLAMA_BASE),
    /** `ORG_CHROMIUM`: the Chromium the browser tool runs, over `browser.executable`. */
    chromium: chromiumFrom(env),
    /** `ORG_API_TOKEN`: the bearer token `serve` asks of every request but /health; unset means no auth. */
    apiToken: env.ORG_API_TOKEN?.trim() || undefined,
  };
}

/** ORG_CHROMIUM, an absolute path; throws EnvironmentError for anything else. */
function chromiumFrom(env: NodeJS.ProcessEnv): string | undefined {
  const text = env.ORG_CHROMIUM?.trim();
  if (!text) return undefined;
  if (!text.startsWith("/"))
    throw new EnvironmentError(`ORG_CHROMIUM=${text} is not an absolute path: give the path of a Chromium binary, or unset it`);
  return text;
}

/** The deployment profile ORG_PROFILE names; throws EnvironmentError for anything but dev and prod. */
function profileOf(env: NodeJS.ProcessEnv): "dev" | "prod" {
  const text = env.ORG_PROFILE?.trim() ?? "";
  if (text === "" || text === "dev") return "dev";
  if (text === "prod") return "prod";
  throw new EnvironmentError(`ORG_PROFILE=${text} is not a profile org knows: use 'dev' (the default) or 'prod'`);
}

/** An on/off switch from the environment; undefined when unset, so the profile decides. */
function onOff(env: NodeJS.ProcessEnv, name: string): boolean | undefined {
  const text = env[name]?.trim().toLowerCase() ?? "";
  if (text === "") return undefined;
  if (["on", "1", "true", "yes"].includes(text)) return true;
  if (["off", "0", "false", "no"].includes(text)) return false;
  throw new EnvironmentError(`${name}=${env[name]} is not a switch: use 'on' or 'off', or unset it for the profile's choice`);
}

/** Whole seconds from the environment; throws EnvironmentError naming the variable when it is not a positive number. */
function secondsFrom(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const text = env[name]?.trim();
  if (!text) return fallback;
  const seconds = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || !(seconds > 0) || seconds > 31_536_000) {
    throw new EnvironmentError(`${name}=${text} is not a number of seconds: give a positive number, or unset it for ${fallback}`);
  }
  return seconds;
}

/** A positive whole number from the environment, at most `max`; throws EnvironmentError naming the variable otherwise. */
function countFrom(env: NodeJS.ProcessEnv, name: string, fallback: number, max: number): number {
  const text = env[name]?.trim();
  if (!text) return fallback;
  const count = Number(text);
  if (!/^\d+$/.test(text) || count < 1 || count > max) {
    throw new EnvironmentError(`${name}=${text} is not a whole number from 1 to ${max}: give one, or unset it for ${fallback}`);
  }
  return count;
}

/** Whether org's durable files (transcripts, serve's job log) are fsynced: ORG_FSYNC, else ORG_PROFILE=prod. */
export function fsyncEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return onOff(env, "ORG_FSYNC") ?? profileOf(env) === "prod";
}

/** What `serve` takes from the environment beyond the token: request signing, job dedup, workers. */
export function serveEnvironment(env: NodeJS.ProcessEnv = process.env) {
  const settings = environmentSettings(env);
  return {
    profile: settings.profile,
    fsync: settings.fsync,
    apiToken: settings.apiToken,
    /** ORG_API_HMAC_SECRET: requests may be signed with HMAC-SHA256 instead of carrying the bearer token. */
    hmacSecret: env.ORG_API_HMAC_SECRET?.trim() || undefined,
    /** ORG_API_HMAC_TTL_S: how old a signed request may be (and how long its signature is remembered). */
    hmacTtlS: secondsFrom(env, "ORG_API_HMAC_TTL_S", 60),
    /** ORG_API_HMAC_BODY_TIMEOUT_S: how long a signed request's body may take to arrive (408 and closed past it). */
    hmacBodyTimeoutS: secondsFrom(env, "ORG_API_HMAC_BODY_TIMEOUT_S", 10),
    /** ORG_API_HMAC_BODIES_PER_CLIENT: signed bodies one client may be sending at once, read before their signature is checked. */
    hmacBodiesPerClient: countFrom(env, "ORG_API_HMAC_BODIES_PER_CLIENT", 8, 10_000),
    /** ORG_SERVE_DEDUP_TTL_S: how long a job's request_id returns the same job. */
    dedupTtlS: secondsFrom(env, "ORG_SERVE_DEDUP_TTL_S", 300),
    /** ORG_SERVE_JOB_TTL_S: how long a finished job and its result are kept (default a day). */
    jobTtlS: secondsFrom(env, "ORG_SERVE_JOB_TTL_S", 86_400),
    /** ORG_SERVE_JOB_QUEUE_MAX: jobs that may wait; past it POST /v1/jobs is 429 with Retry-After. */
    jobQueueMax: countFrom(env, "ORG_SERVE_JOB_QUEUE_MAX", 1_000, 1_000_000),
    /** ORG_SERVE_JOB_LOG_COMPACT_BYTES: the job log's size past which it is compacted once mostly dead lines. */
    jobLogCompactBytes: countFrom(env, "ORG_SERVE_JOB_LOG_COMPACT_BYTES", 1024 * 1024, 2 ** 40),
  };
}

/** A port number from the environment; throws EnvironmentError naming the variable when it is not one. */
function portFrom(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const text = env[name]?.trim();
  if (!text) return fallback;
  const port = Number(text);
  if (!/^\d+$/.test(text) || port < 1 || port > 65_535) {
    throw new EnvironmentError(`${name}=${text} is not a port: give a number from 1 to 65535, or unset it for ${fallback}`);
  }
  return port;
}

/**
 * A tmux session name tmux keeps as given: it turns '.' and ':' into '_' and escapes control characters,
 * backslashes and more, after which org (and ops/stop.sh) would look for a session that does not exist. The
 * same rule is in ops/tmux-session.sh for the scripts that call tmux themselves.
 */
export const TMUX_SESSION_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** ORG_TMUX_SESSION (default "org"), refused with EnvironmentError when tmux would change it. */
export function tmuxSessionName(env: NodeJS.ProcessEnv = process.env): string {
  const name = env.ORG_TMUX_SESSION?.trim() || "org";
  if (!TMUX_SESSION_PATTERN.test(name)) {
    throw new EnvironmentError(
      `ORG_TMUX_SESSION=${JSON.stringify(name).slice(0, 80)} is not a name tmux keeps as given (it turns '.' ` +
        `and ':' into '_' and escapes other characters), so org could not find its session again. Use 1 to 64 ` +
        `letters, digits, '_' and '-', e.g. ${JSON.stringify(name.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 64) || "org")}.`,
    );
  }
  return name;
}

/** Where the side-by-side instances run: ports and the tmux session (ops/start-current.sh, start-candidate.sh). */
export function instanceSettings(env: NodeJS.ProcessEnv = process.env) {
  return {
    currentPort: portFrom(env, "ORG_CURRENT_PORT", 7001),
    candidatePort: portFrom(env, "ORG_CANDIDATE_PORT", 7002),
    tmuxSession: tmuxSessionName(env),
    /** Seconds an instance may take to answer /health with the expected commit. */
    startTimeoutS: Number(env.ORG_START_TIMEOUT_S?.trim() || "") > 0 ? Number(env.ORG_START_TIMEOUT_S) : 60,
  };
}

// What a tmux window of org (ops/run.sh, the side-by-side instances) gets from the shell that started it.
const PASSED_TO_WINDOWS = /^(OLLAMA_\w+|ORG_\w+|OPENAI_API_KEY|NO_COLOR|PATH|HOME|TERM|LANG|LC_\w+)$/;

/**
 * The variables an instance started in tmux needs: a tmux server that is already running would give the
 * window its own, older environment, so these are passed explicitly.
 */
export function windowEnvironment(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const passed: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && PASSED_TO_WINDOWS.test(name) && name !== "ORG_TMUX_SESSION") passed[name] = value;
  }
  // Always set: a tmux server's global environment (set-environment -g, or the shell that started it) is
  // not the user's, and must not turn the sandbox off. Unset here means on.
  passed.ORG_SANDBOX = env.ORG_SANDBOX || "on";
  return passed;
}

// The gate's tests stage runs main's tests with these of the gate's variables and no others: no model server, API key
// or org setting of the shell reaches them (a test must not depend on where it runs). Those that can move what a test
// touches on disk into the judged worktree (where programs are found, home, temporary files) are `keyed`: the trace of
// which tests read tools/generated/ holds only for their values. The rest are passed as they are (a locale, a time
// zone, the terminal's name, the test run's id for its reaper) and can only change what a test reads outside it.
const GATE_TEST_KEYED = ["PATH", "HOME", "TMPDIR"] as const;
const GATE_TEST_PASSED = ["LANG", "LC_ALL", "LC_CTYPE", "TZ", "TERM", "USER", "LOGNAME", "SHELL", "ORG_TEST_RUN"] as const;

/**
 * The environment the gate's tests stage runs its `bun test` processes with, and the part of it a trace is keyed on. Its
 * ORG_HOME is a folder under TMPDIR of this user's, never the person's own org folder: a test's confirmations of its
 * throw-away workspaces stay out of it.
 */
export function gateTestEnvironment(env: NodeJS.ProcessEnv = process.env): { variables: Record<string, string>; keyed: Record<string, string> } {
  const pick = (names: readonly string[]) =>
    Object.fromEntries(
      names.flatMap((name) => {
        const value = env[name];
        return value === undefined ? [] : [[name, value] as const];
      }),
    );
  const keyed = pick(GATE_TEST_KEYED);
  const orgHome = `${(keyed.TMPDIR || "/tmp").replace(/\/+$/, "")}/org-gate-home-${process.getuid?.() ?? 0}`;
  return { variables: { ...pick(GATE_TEST_PASSED), ...keyed, ORG_HOME: orgHome }, keyed };
}

// What could make a git that org runs look at another repository or run another program: git's own variables and
// the editor, pager and password helpers git would start (the environment guard simple-git applied, kept).
const GIT_STEERING = /^(git_\w*|editor|visual|pager|prefix|ssh_askpass)$/i;

/**
 * The environment every git org runs gets: this process's, without the variables that steer git elsewhere
 * (`GIT_DIR`, `GIT_CONFIG_*`, `GIT_SSH_COMMAND`, an editor or pager), and with abbreviated options refused.
 */
export function gitEnvironment(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) if (value !== undefined && !GIT_STEERING.test(name.trim())) kept[name] = value;
  return { ...kept, GIT_TEST_DISALLOW_ABBREVIATED_OPTIONS: "true" };
}

/** The value of a variable the config names (e.g. a server's `apiKeyEnv`); undefined when unset or blank. */
export function environmentVariable(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env[name]?.trim() || undefined;
}

/** The credentials in a server URL's userinfo, when it has any. */
function credentialsOf(value: string): string[] {
  return value.includes("@") ? urlCredentials(serverUrlOf(value)) : [];
}

// Server URLs whose userinfo (`http://user:token@host`) is a credential wherever else it turns up.
const SERVER_URL_VARIABLES = ["OLLAMA_BASE", "ORG_EMBED_BASE"] as const;

/**
 * Values of this process's secret-looking environment variables, longest first, for the redactor; with the
 * password (or lone token) of OLLAMA_BASE's and ORG_EMBED_BASE's userinfo.
 */
export function secretEnvironmentValues(env: NodeJS.ProcessEnv = process.env): string[] {
  // Only the secret-looking names' values are read: taking every value of process.env, as Object.entries does, is slow.
  const named: string[] = [];
  for (const name of Object.keys(env)) {
    if (!namesSecretVariable(name)) continue;
    const value = env[name];
    if (value !== undefined) named.push(value);
  }
  const inUrls = SERVER_URL_VARIABLES.flatMap((name) => {
    const value = env[name]?.trim();
    const credentials = value ? credentialsOf(value) : [];
    // A user beside a password is a name; a lone user is the token.
    return credentials.length === 2 ? credentials.slice(1) : credentials;
  });
  return [...new Set([...named, ...inUrls])].filter((value) => value.length >= 6).sort((a, b) => b.length - a.length);
}

/**
 * This process's environment, with `overrides` over it (a command line's `--model` for OLLAMA_MODEL, the demo's scripted
 * server for OLLAMA_BASE): what the config loader is given when the variables it resolves are not only the process's,
 * and what a key over the environment a process hands on is made from (`fitness/folder-readers.ts`).
 */
export function processEnvironment(overrides: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
  return { ...process.env, ...overrides };
}

/** The PATH commands are looked up in (to tell whether `org` there is this checkout's launcher). */
export function executableSearchPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.PATH ?? "";
}

/**
 * `ORG_TEST_KILL_AT=N`: a promote or rollback SIGKILLs itself at its N-th journaled point (tests prove that a
 * rerun after a kill -9 at every point leaves a consistent repository). Unset in normal use.
 */
export function testKillPoint(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const text = env.ORG_TEST_KILL_AT?.trim();
  return text && /^\d+$/.test(text) ? Number(text) : undefined;
}

/** The model providers `org patch` speaks to: both OpenAI-compatible, or none at all (`null`, for wiring tests). */
export const PATCH_PROVIDERS = ["ollama", "openai", "null"] as const;

/**
 * What `org patch` takes from the environment (the one-shot executor's contract): where the repository and the
 * task's context are, the breadcrumb, and the model. Unset paths are left to the command, which knows its
 * defaults; an unknown LLM_PROVIDER throws EnvironmentError naming the values it takes.
 */
export function patchEnvironment(env: NodeJS.ProcessEnv = process.env) {
  const provider = env.LLM_PROVIDER?.trim() || "ollama";
  if (!(PATCH_PROVIDERS as readonly string[]).includes(provider)) {
    throw new EnvironmentError(`LLM_PROVIDER=${provider} is not a provider org knows: use ${PATCH_PROVIDERS.join(", ")} (unset means ollama)`);
  }
  return {
    repoRoot: env.REPO_ROOT?.trim() || undefined,
    contextRoot: env.CONTEXT_ROOT?.trim() || undefined,
    breadcrumb: env.TRACKING_BREADCRUMB?.trim() || undefined,
    provider: provider as (typeof PATCH_PROVIDERS)[number],
    model: env.LLM_MODEL?.trim() || undefined,
    server: env.LLM_BASE_URL?.trim() ? serverUrlOf(env.LLM_BASE_URL.trim()) : undefined,
    apiKey: env.LLM_API_KEY?.trim() || undefined,
  };
}

/** `TELEGRAM_BOT_TOKEN`: the bot `org telegram` and the supervisor's Telegram messages speak as; undefined when unset or blank. */
export function telegramBotToken(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.TELEGRAM_BOT_TOKEN?.trim() || undefined;
}
