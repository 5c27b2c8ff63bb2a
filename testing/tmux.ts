import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Thrown when a terminal test cannot run because tmux is missing: such a test must fail, never skip. */
export class TmuxMissingError extends Error {
  override name = "TmuxMissingError";
  constructor() {
    super("tmux is not installed, and the terminal tests need it: install tmux (Debian/Ubuntu: apt-get install tmux).");
  }
}

/** A session name no other test or user session has. */
export function uniqueSessionName(prefix = "org-test"): string {
  return `${prefix}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

/** The session that holds the test's tmux server up between the sessions the tests start and stop. */
const KEEPER_SESSION = "fixture-keeper";

/**
 * A tmux server of its own for one test (its socket in a temp dir via TMUX_TMPDIR), so tests never see
 * or touch the user's sessions. Run scripts with `env` so they talk to this server too.
 */
export class TmuxServer {
  private constructor(
    readonly socketDir: string,
    /** The environment for anything that should use this server: TMUX_TMPDIR set, TMUX unset. */
    readonly env: Record<string, string>,
  ) {}

  static async start(): Promise<TmuxServer> {
    if (!Bun.which("tmux")) throw new TmuxMissingError();
    const socketDir = await mkdtemp(join(tmpdir(), "org-tmux-"));
    const env: Record<string, string> = {};
    for (const [name, value] of Object.entries(process.env)) if (value !== undefined && name !== "TMUX") env[name] = value;
    env.TMUX_TMPDIR = socketDir;
    const server = new TmuxServer(socketDir, env);
    // tmux exits with its last session: an ops script that starts a session while a test's stop.sh has just
    // killed the last one would meet a server on its way out ("server exited unexpectedly"). A session of the
    // fixture's own keeps the server up until close().
    await server.newSession(KEEPER_SESSION, "tail -f /dev/null", { width: 20, height: 5 });
    return server;
  }

  /** Runs a tmux command against this server; throws with tmux's message when it fails. */
  async tmux(...args: string[]): Promise<string> {
    const child = Bun.spawn(["tmux", ...args], { env: this.env, stdout: "pipe", stderr: "pipe" });
    const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
    if (code !== 0) throw new Error(`tmux ${args.join(" ")} failed (${code}): ${stderr.trim()}`);
    return stdout;
  }

  async newSession(name: string, command: string, options: { cwd?: string; width?: number; height?: number } = {}) {
    await this.tmux(
      "new-session",
      "-d",
      "-s",
      name,
      "-x",
      String(options.width ?? 120),
      "-y",
      String(options.height ?? 40),
      ...(options.cwd ? ["-c", options.cwd] : []),
      command,
    );
  }

  async hasSession(name: string): Promise<boolean> {
    return this.tmux("has-session", "-t", `=${name}`).then(
      () => true,
      () => false,
    );
  }

  /** Types `text` literally into the pane (no key names interpreted). */
  async type(target: string, text: string): Promise<void> {
    await this.tmux("send-keys", "-t", target, "-l", text);
  }

  /** Sends named keys: "Enter", "C-c", "Up", "M-Enter"… */
  async keys(target: string, ...keys: string[]): Promise<void> {
    await this.tmux("send-keys", "-t", target, ...keys);
  }

  /** The pane's visible text plus its scrollback, lines joined as displayed. */
  async capture(target: string): Promise<string> {
    return this.tmux("capture-pane", "-p", "-J", "-S", "-200", "-t", target);
  }

  /**
   * Polls the pane until `pattern` appears; returns the pane text. On timeout throws with what the pane
   * showed, so a failing test says what it saw.
   */
  async waitFor(target: string, pattern: string | RegExp, timeoutMs = 15_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let text = "";
    while (Date.now() < deadline) {
      text = await this.capture(target).catch((error: Error) => `(capture failed: ${error.message})`);
      if (typeof pattern === "string" ? text.includes(pattern) : pattern.test(text)) return text;
      await Bun.sleep(100);
    }
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${String(pattern)} in tmux pane ${target}. The pane shows:\n${text}`);
  }

  /** Kills the server and every session on it, and removes the socket dir. */
  async close(): Promise<void> {
    await this.tmux("kill-server").catch(() => undefined);
    await rm(this.socketDir, { recursive: true, force: true });
  }
}

/**
 * The environment the ops scripts of a throw-away clone run with: this test's tmux server, its session, the current
 * and candidate ports, the scripted model server (model `scripted`), no colour.
 */
export function instancesEnv(
  tmux: TmuxServer,
  place: { session: string; currentPort: number; candidatePort: number; ollamaBase: string },
): Record<string, string> {
  return {
    ...tmux.env,
    ORG_TMUX_SESSION: place.session,
    ORG_CURRENT_PORT: String(place.currentPort),
    ORG_CANDIDATE_PORT: String(place.candidatePort),
    OLLAMA_BASE: place.ollamaBase,
    OLLAMA_MODEL: "scripted",
    NO_COLOR: "1",
  };
}
