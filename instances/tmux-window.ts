import { OrgError } from "../errors/org-error.ts";

/** tmux is missing or refused a command; the message has tmux's own words. */
export class TmuxError extends OrgError {
  override name = "TmuxError";
}

/** A window's pane as tmux sees it: absent, running (with the pid of its process) or dead (with its exit status). */
export type WindowState = { state: "absent" } | { state: "running"; pid: number } | { state: "dead"; status: number | null };

async function tmux(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  if (!Bun.which("tmux")) throw new TmuxError("tmux is not installed; install it (Debian/Ubuntu: apt-get install tmux).");
  const child = Bun.spawn(["tmux", ...args], { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { code, stdout, stderr };
}

async function tmuxOk(args: string[]): Promise<string> {
  const result = await tmux(args);
  if (result.code !== 0) throw new TmuxError(`tmux ${args[0]} failed: ${result.stderr.trim() || `exit code ${result.code}`}`);
  return result.stdout;
}

/**
 * One named window of a tmux session (`org:current`), driven with argv only (no shell between org and tmux).
 * Its pane stays after the process exits (remain-on-exit), so a crash's last lines can be read.
 */
export class TmuxWindow {
  constructor(
    readonly session: string,
    readonly name: string,
  ) {}

  /** The exact target: `=` keeps tmux from matching a session or window by prefix. */
  get target(): string {
    return `=${this.session}:=${this.name}`;
  }

  async state(): Promise<WindowState> {
    const listing = await tmux(["list-windows", "-t", `=${this.session}`, "-F", "#{window_name}\t#{pane_dead}\t#{pane_pid}\t#{pane_dead_status}"]);
    if (listing.code !== 0) return { state: "absent" };
    const line = listing.stdout.split("\n").find((row) => row.split("\t")[0] === this.name);
    if (!line) return { state: "absent" };
    const [, dead, pid, status] = line.split("\t");
    if (dead === "1") return { state: "dead", status: status === "" || status === undefined ? null : Number(status) };
    return { state: "running", pid: Number(pid) };
  }

  /** Starts `argv` in the window (a new session, a new window, or the dead pane again), in `cwd`, with `env`. */
  async start(argv: string[], options: { cwd: string; env: Record<string, string> }): Promise<void> {
    const envArgs = Object.entries(options.env).flatMap(([name, value]) => ["-e", `${name}=${value}`]);
    const command = argv.map(shellQuote).join(" ");
    const current = await this.state();
    if (current.state === "running") {
      throw new TmuxError(`window ${this.session}:${this.name} is already running (pid ${current.pid}); stop it first.`);
    }
    if (current.state === "absent") {
      // The window first holds a placeholder, so remain-on-exit is on before the real process can exit:
      // a server that dies at once still leaves its last words in the pane.
      const placeholder = "exec sleep 2147483647";
      if ((await tmux(["has-session", "-t", `=${this.session}`])).code === 0) {
        await tmuxOk(["new-window", "-d", "-t", `=${this.session}:`, "-n", this.name, placeholder]);
      } else {
        await tmuxOk(["new-session", "-d", "-s", this.session, "-n", this.name, "-x", "160", "-y", "50", placeholder]);
      }
    }
    await tmuxOk(["set-option", "-w", "-t", this.target, "remain-on-exit", "on"]);
    await tmuxOk(["respawn-window", "-k", "-t", this.target, "-c", options.cwd, ...envArgs, `exec ${command}`]);
  }

  /** The pane's last `lines` lines, for saying why a process died or hangs. */
  async lastLines(lines = 20): Promise<string> {
    const result = await tmux(["capture-pane", "-p", "-J", "-S", `-${Math.max(lines, 1) * 4}`, "-t", this.target]);
    if (result.code !== 0) return "";
    // A pane is as tall as the window: what the process printed sits above blank rows.
    const printed = result.stdout.split("\n").filter((line) => line.trim() !== "");
    return printed.slice(-lines).join("\n");
  }

  /**
   * Stops the window's process with SIGTERM (it drains its requests), SIGKILL after `graceMs`, then closes
   * the window. Nothing running is fine.
   */
  async stop(graceMs = 15_000): Promise<"stopped" | "killed" | "absent"> {
    const current = await this.state();
    if (current.state === "absent") return "absent";
    let outcome: "stopped" | "killed" = "stopped";
    if (current.state === "running") {
      signal(current.pid, "SIGTERM");
      const deadline = Date.now() + graceMs;
      while ((await this.state()).state === "running" && Date.now() < deadline) await Bun.sleep(100);
      if ((await this.state()).state === "running") {
        signal(current.pid, "SIGKILL");
        outcome = "killed";
        const hard = Date.now() + 5_000;
        while ((await this.state()).state === "running" && Date.now() < hard) await Bun.sleep(50);
      }
    }
    await tmux(["kill-window", "-t", this.target]);
    return outcome;
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}

/** A word for tmux's shell: single-quoted, with single quotes escaped. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
