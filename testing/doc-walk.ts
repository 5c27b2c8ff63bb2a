// A walk through a page of org's docs, as a reader types it: each command run by bash as the page has it, in a home of
// the walk's own (`~` is there), with `org` on PATH as `npm link` puts it (a throw-away clone of org, so what a command
// lands in "org's own clone" lands there), against the playground's scripted server for a model. Where the page shows
// something this run has under another name (a branch, a proposal id, a port), the walk's aliases say what stands for
// it; a step's `before` makes what the page's story had before the command (files it names, a session, a config).
// Each step checks the exit code and what the command printed. docs/doc-commands.test.ts holds every command of the
// docs to exactly one step (or to a test named in ELSEWHERE).
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./free-port.ts";
import { orgClone } from "./org-clone.ts";
import { type PlaygroundServer, startPlaygroundServer } from "./playground-server.ts";
import type { ToolSpec } from "../generated-tools/tool-metadata.ts";
import { writeGeneratedTool } from "./generated-tool-fixture.ts";
import { gitSync, testGitEnv } from "./temp-git-repo.ts";
import type { ToolFixture } from "./toolsmith-fixtures.ts";
import { TmuxServer, uniqueSessionName } from "./tmux.ts";
import { shellWord } from "../security/shell-word.ts";

/** What a walk's steps share: where things are, the environment the commands run in, and the page's names for this run's things. */
export type WalkContext = {
  /** The walk's HOME: `~` in a command is here. */
  home: string;
  /** The throw-away clone of org that `org` runs from (org's own clone, for the commands that land things there). */
  clone: string;
  /** Where the next command runs, unless the step says. */
  cwd: string;
  /** The environment every command runs in; an `export` line of a page changes it. */
  env: Record<string, string>;
  /** What this run has where the page shows a recorded value (a branch, an id, a port, a URL), longest first when applied. */
  aliases: Map<string, string>;
  /** The playground's scripted server (`org scripted-server --script playground`). */
  playground: PlaygroundServer;
  /** Processes a step left running (`… &`), stopped when the walk ends. */
  background: Subprocess[];
  /** The walk's tmux server: a step `inTerminal` runs in a session of it. */
  tmux: TmuxServer;
};

type Subprocess = ReturnType<typeof Bun.spawn>;

/** One thing a reader does: a command of a page (with the lines typed into it, for a room), run and checked. */
export type WalkStep = {
  /** The page, as docCommands names it (`README.md`, `docs/models.md`). */
  doc: string;
  /** The command exactly as the page has it (after `$ `, without a trailing `# comment`). */
  command: string;
  /** The same command on other pages, run once here. */
  also?: { doc: string; command: string }[];
  /** The page's command again, as its story runs it a second time: an earlier step holds it to the page. */
  repeats?: true;
  /** Lines typed into it, in order (a room's messages and answers); those the page shows at a room's prompt are its own. */
  typed?: string[];
  /**
   * Runs it in a terminal (a tmux pane), each typed line typed at the next prompt, then Ctrl-D: for a room whose page
   * shows what only a person at a terminal is asked (an MCP server to confirm). Without it the lines go to a pipe.
   */
  inTerminal?: true;
  /** What the page's story had before this command: files, a session, a config. */
  before?: (context: WalkContext) => void | Promise<void>;
  /** The command run instead of the page's (aliases applied to it as well), when the page's cannot run here as it is; say why. */
  run?: { command: string; why: string };
  /** Where it runs (default: the context's cwd). */
  cwd?: (context: WalkContext) => string;
  /** For a command that keeps running (`… &`, a server): the line it prints once ready. */
  ready?: RegExp;
  exit?: number;
  /** What the output (stdout and stderr) must show, each. */
  says?: readonly RegExp[];
  /** What it must not. */
  saysNot?: readonly RegExp[];
  /** Keeps what later steps need (an alias for a value the page shows). */
  after?: (output: string, context: WalkContext) => void | Promise<void>;
  /** The page's session shows a model's judgement the playground does not have; the step checks what the playground says instead. */
  needsAModel?: string;
  timeoutMs?: number;
};

/** A walk: its steps in page order, and what the whole walk starts from. */
export type Walk = { name: string; steps: readonly WalkStep[]; setup?: (context: WalkContext) => void | Promise<void> };

/**
 * Commands of the docs that a walk does not run, each with the test that runs it and why: the demo (it has its own test),
 * the long-running servers the README only names, and commands no test may run (npm link changes npm's prefix).
 */
export const ELSEWHERE: readonly { doc: string; command: string; test: string; runs: string; why: string }[] = [
  ...[
    { command: "org share remote", runs: 'org(bob, "remote")' },
    { command: "org share trust ~/keys/alice.pub", runs: 'org(bob, "trust", `${alice.key}.pub`' },
    { command: "org share keys", runs: 'org(bob, "keys")' },
    { command: "org share publish word_count --machine alice-laptop", runs: '"--machine", "alice-laptop"' },
    { command: "org share list", runs: 'org(bob, "list")' },
  ].map(({ command, runs }) => ({
    doc: "docs/share.md",
    command,
    test: "cli/share/share-command.test.ts",
    runs,
    why: "sharing needs a second machine (an org home, a HOME and an SSH key of its own) and a remote, which the test makes",
  })),
  {
    doc: "README.md",
    command: "npm start",
    test: "cli/chat/demo-command.test.ts",
    runs: '"demo"',
    why: "npm start runs org demo, whose whole session that test plays",
  },
  {
    doc: "docs/workspace.md",
    command: "mv dd2 dd2real; ln -s /srv/outside dd2; org undo --force",
    test: "cli/undo-command.links.test.ts",
    runs: 'changedWorkspace("folder-link"',
    why: "the change it undoes wrote dd2/file.txt, which the playground's agent never writes (it writes NOTES.md alone)",
  },
  ...[
    "org promote cand/20261126T080000Z --no-restart",
    "org rollback --no-restart",
    "org fitness | grep baseline",
    "org fitness | tail -2",
    'org fitness --drop-baseline "tool word_count"',
  ].map((command) => ({
    doc: "docs/gate.md",
    command,
    test: "fitness/run-fitness.scenarios.test.ts",
    runs: '"--drop-baseline"',
    why:
      "the page's baseline run has stand-in instances whose example counts the test sets, to show a count " +
      "main no longer reaches; the playground's tools pass every example",
  })),
  {
    doc: "docs/gate.md",
    command: 'org tool new --goal "reverse the order of the words in a text" --promote',
    test: "testing/generations.e2e.tmux.test.ts",
    runs: 'toolNewTyped(name, "reverse the order of the words in a text")',
    why:
      "its first cycle is this command as typed (reverse_words, the clone's first, tracing the test files it keeps), " +
      "with the page's lines checked; the walk's own tool new --promote (slugify) runs the same cycle once more",
  },
  {
    doc: "README.md",
    command: "org serve",
    test: "docs/from-other-tools.test.ts",
    runs: "startOrgServe(",
    why: "the tour names it; that test runs it with the clients of docs/from-other-tools.md",
  },
  ...[
    ["org schedule list", '"schedule", "list"'],
    ["org schedule list", '"schedule", "list", "--json"'],
    ["org config trust", '"config", "trust"'],
    ["org schedule run morning-news", '"schedule", "run", "morning-news", "--json"'],
    ["org chat --resume 20261129-095103-d63c64 --once /history", '"chat", "--resume", outcome.sessionId, "--once", "/history"'],
    ["org chat --resume 20261129-023000-5b1e07 --once /history", '"chat", "--resume", workflowRun.sessionId, "--once", "/history"'],
  ].map(([command = "", runs = ""]) => ({
    doc: "docs/schedules.md",
    command,
    test: "cli/schedule-command.test.ts",
    runs,
    why: "the page's session: the test runs it in a workspace of its own against a scripted model server",
  })),
  {
    doc: "docs/telegram.md",
    command: "org telegram",
    test: "telegram/telegram.e2e.test.ts",
    runs: 'args: ["telegram", "--workspace", dir]',
    why: "it needs a Telegram Bot API and a bot's token: that test runs it against the Bot API stand-in, with the page's stranger line",
  },
  {
    doc: "README.md",
    command: "org mcp",
    test: "docs/from-other-tools.test.ts",
    runs: "new StdioClientTransport(",
    why: "the tour names it; that test runs it from the MCP client entry of docs/from-other-tools.md",
  },
];

/** Of org's test files, the ones the clone keeps: a few that load generated tools, so its first gate traces those alone. */
export const CLONE_TESTS = ["config/tool-names.test.ts", "generated-tools/promoted-tools.test.ts", "generated-tools/tool-catalog.test.ts"];

/** Variables of the test's own environment that would change what org does; the walk sets those it wants. */
const DROPPED = /^(OLLAMA_|ORG_(?!TEST_RUN)|LLM_|OPENAI_|REPO_ROOT$|CONTEXT_ROOT$|TMUX)/;

/** The command with this run's values put where the page shows recorded ones, the longest first. */
export function withAliases(command: string, aliases: ReadonlyMap<string, string>): string {
  let text = command;
  for (const [from, to] of [...aliases].sort((a, b) => b[0].length - a[0].length)) text = text.replaceAll(from, to);
  return text;
}

/** Sets the variables of an `export A=x B="y"` line in the walk's environment (after its aliases). */
function applyExport(line: string, context: WalkContext): void {
  for (const [, name, value] of line.slice("export ".length).matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|'[^']*'|\S*)/g)) {
    if (name !== undefined) context.env[name] = (value ?? "").replace(/^(["'])(.*)\1$/, "$2");
  }
}

/** Runs one step: its command in bash, the typed lines on its stdin; throws, with everything it said, when a check fails. */
export async function runStep(step: WalkStep, context: WalkContext): Promise<string> {
  await step.before?.(context);
  const command = withAliases(step.run?.command ?? step.command, context.aliases);
  const where = `${step.doc}: $ ${step.command}${command !== step.command ? `\n  ran: ${command}` : ""}`;
  if (/^export \w+=/.test(command)) {
    applyExport(command, context);
    return "";
  }
  const cwd = step.cwd?.(context) ?? context.cwd;
  if (step.ready) return startBackground(step, command.replace(/\s*&\s*$/, ""), cwd, context, where);
  if (step.inTerminal) {
    const ran = await runInTerminal(step, command, cwd, context);
    return checkStep(step, context, where, { ...ran, stderr: "", limit: step.timeoutMs ?? 120_000 });
  }
  const child = Bun.spawn(["bash", "-c", command], {
    cwd,
    env: context.env,
    stdin: step.typed ? "pipe" : "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  if (step.typed && child.stdin) {
    child.stdin.write(`${step.typed.join("\n")}\n`);
    await child.stdin.end();
  }
  const limit = step.timeoutMs ?? 120_000;
  const killer = setTimeout(() => child.kill("SIGKILL"), limit);
  const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  clearTimeout(killer);
  return checkStep(step, context, where, { stdout, stderr, exitCode, limit, ...(child.signalCode ? { signal: String(child.signalCode) } : {}) });
}

/** What a step's run said, checked against its exit code and patterns; throws with everything it said. */
async function checkStep(
  step: WalkStep,
  context: WalkContext,
  where: string,
  ran: { stdout: string; stderr: string; exitCode: number | null; limit: number; signal?: string },
): Promise<string> {
  const { stdout, stderr, exitCode, limit } = ran;
  const output = `${stdout}\n${stderr}`;
  // ORG_WALK_SHOW=1 prints what each command said, to record a page's session from a walk.
  if (process.env.ORG_WALK_SHOW === "1") process.stderr.write(`\n${where}\n${stdout}${stderr}(exit ${exitCode})\n`);
  const problems = [
    ...(exitCode !== (step.exit ?? 0)
      ? [`exited ${exitCode}${ran.signal ? ` (${ran.signal}, killed after ${limit} ms?)` : ""}, not ${step.exit ?? 0}`]
      : []),
    ...(step.says ?? []).filter((pattern) => !pattern.test(output)).map((pattern) => `does not say ${pattern}`),
    ...(step.saysNot ?? []).filter((pattern) => pattern.test(output)).map((pattern) => `says ${pattern}`),
  ];
  if (problems.length > 0)
    throw new Error(`${where}\n  ${problems.join("\n  ")}\n--- stdout ---\n${stdout.slice(-6000)}\n--- stderr ---\n${stderr.slice(-6000)}`);
  await step.after?.(output, context);
  return output;
}

/** A prompt a person answers: the room's (`group ›`), or a question's (`[y]es / [n]o:`), as the pane shows it. */
const TERMINAL_PROMPT = /(›|\[n\]o(?: \(then Enter\))?:)$/;

/**
 * A step run in a tmux pane of the walk's server: the command in bash with the walk's environment, each typed line typed
 * once the pane's last line is a prompt (a one-key question gets its key alone), then Ctrl-D to leave. Returns the
 * pane's whole text and the command's exit code.
 */
async function runInTerminal(
  step: WalkStep,
  command: string,
  cwd: string,
  context: WalkContext,
): Promise<{ stdout: string; exitCode: number | null }> {
  const deadline = Date.now() + (step.timeoutMs ?? 120_000);
  const dir = mkdtempSync(join(tmpdir(), "org-walk-terminal-"));
  const session = uniqueSessionName("org-walk-step");
  const exports = Object.entries(context.env).map(([name, value]) => `export ${name}=${shellWord(value)}`);
  const script = [...exports, `cd ${shellWord(cwd)} || exit 1`, command, 'echo "[walk: exit $?]"', "exec sleep 3600"].join("\n");
  writeFileSync(join(dir, "step.sh"), `${script}\n`);
  const { tmux } = context;
  const pane = () => tmux.tmux("capture-pane", "-p", "-J", "-S", "-", "-t", session);
  const lastLine = (text: string) => text.trimEnd().split("\n").at(-1)?.trimEnd() ?? "";
  /** Waits, up to the step's deadline, for the pane to differ from `before` and end at a prompt; returns its text. */
  const untilPrompt = async (before: string, ended = /\[walk: exit (\d+)\]/): Promise<string> => {
    for (;;) {
      const text = await pane();
      if (text !== before && (TERMINAL_PROMPT.test(lastLine(text)) || ended.test(text))) return text;
      if (Date.now() > deadline) throw new Error(`${step.doc}: $ ${command}\n  no prompt within its time; the pane shows:\n${text}`);
      await Bun.sleep(100);
    }
  };
  try {
    // Only the walk's environment, as a piped step has: not what the tmux server was started with.
    await tmux.newSession(session, `env -i bash ${shellWord(join(dir, "step.sh"))}`, { width: 200, height: 50 });
    let text = await untilPrompt("");
    for (const line of step.typed ?? []) {
      if (/\[walk: exit \d+\]/.test(text)) break;
      const oneKey = /\[n\]o:$/.test(lastLine(text));
      await tmux.type(session, line);
      if (!oneKey) await tmux.keys(session, "Enter");
      text = await untilPrompt(text);
    }
    if (!/\[walk: exit \d+\]/.test(text)) {
      await tmux.keys(session, "C-d");
      text = await untilPrompt(text, /\[walk: exit (\d+)\]/);
      while (!/\[walk: exit \d+\]/.test(text)) {
        if (Date.now() > deadline) throw new Error(`${step.doc}: $ ${command}\n  did not end after Ctrl-D; the pane shows:\n${text}`);
        await Bun.sleep(100);
        text = await pane();
      }
    }
    const code = /\[walk: exit (\d+)\]/.exec(text)?.[1];
    return { stdout: text.replace(/\[walk: exit \d+\]\s*$/, ""), exitCode: code === undefined ? null : Number(code) };
  } finally {
    await tmux.tmux("kill-session", "-t", `=${session}`).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A command that keeps running: started, read until its ready line, left for the walk's end to stop. */
async function startBackground(step: WalkStep, command: string, cwd: string, context: WalkContext, where: string): Promise<string> {
  const child = Bun.spawn(["bash", "-c", `exec ${command}`], { cwd, env: context.env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  context.background.push(child);
  const reader = (child.stdout as ReadableStream<Uint8Array>).getReader();
  let text = "";
  const deadline = Date.now() + (step.timeoutMs ?? 30_000);
  while (!step.ready?.test(text) && Date.now() < deadline) {
    const read = await Promise.race([reader.read(), Bun.sleep(Math.max(0, deadline - Date.now())).then(() => undefined)]);
    if (read === undefined || read.done) break;
    text += new TextDecoder().decode(read.value);
  }
  reader.releaseLock();
  if (!step.ready?.test(text)) throw new Error(`${where}\n  never said ${step.ready}; it said:\n${text}`);
  await step.after?.(text, context);
  return text;
}

/**
 * Runs a walk: a clone of org on PATH as `org`, a home, a tmux server, free ports for current and candidate, the
 * playground's server; then each step in order. Everything it started is stopped, and its folders removed, at the end.
 */
export async function runWalk(walk: Walk): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), `org-walk-${walk.name}-`));
  // The sandbox drops to another uid, which must be able to enter the projects under it (mkdtemp makes it 0700).
  chmodSync(root, 0o755);
  const home = join(root, "home");
  mkdirSync(join(home, "bin"), { recursive: true, mode: 0o755 });
  using clone = orgClone(`org-walk-${walk.name}-clone-`, { withoutGeneratedTools: true, onlyTests: CLONE_TESTS, parent: root });
  symlinkSync(join(clone.dir, "bin", "org"), join(home, "bin", "org"));
  const tmux = await TmuxServer.start();
  const playground = await startPlaygroundServer(root);
  const inherited = Object.fromEntries(Object.entries(testGitEnv()).filter(([name]) => !DROPPED.test(name)));
  const context: WalkContext = {
    home,
    clone: clone.dir,
    cwd: home,
    env: {
      ...inherited,
      HOME: home,
      PATH: `${join(home, "bin")}:${process.env.PATH ?? "/usr/bin:/bin"}`,
      NO_COLOR: "1",
      TMUX_TMPDIR: tmux.env.TMUX_TMPDIR ?? "",
      ORG_TMUX_SESSION: uniqueSessionName("org-walk"),
      ORG_CURRENT_PORT: String(freePort()),
      ORG_CANDIDATE_PORT: String(freePort()),
      OLLAMA_BASE: playground.url,
      OLLAMA_MODEL: "scripted",
    },
    aliases: new Map(),
    playground,
    background: [],
    tmux,
  };
  try {
    await walk.setup?.(context);
    for (const step of walk.steps) await runStep(step, context);
  } finally {
    for (const child of context.background) child.kill();
    await Promise.all(context.background.map((child) => child.exited));
    await tmux.close();
    await playground.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

/**
 * Runs a shell line of the walk's own in `cwd` (what a page's story did between its commands: a room's turn, a setup
 * command) with the walk's environment; returns what it printed, and throws with it when the line fails.
 */
export function walkShell(context: WalkContext, cwd: string, line: string): string {
  const ran = Bun.spawnSync(["bash", "-c", line], { cwd, env: context.env });
  const said = ran.stdout.toString() + ran.stderr.toString();
  if (ran.exitCode !== 0) throw new Error(`${line} (in ${cwd}) exited ${ran.exitCode}:\n${said}`);
  return said;
}

/** A file of the walk's, as a step's check reads it. */
export const readWalkFile = (path: string) => readFileSync(path, "utf8");

/**
 * Promotes these fixture tools into the clone's main as `org tool new --promote` would leave them (the tool's files with
 * their metadata, one commit), for a page whose session starts with them promoted.
 */
export function promoteFixtures(context: WalkContext, fixtures: readonly ToolFixture[]): void {
  for (const fixture of fixtures) writeGeneratedTool(context.clone, fixture.spec as unknown as ToolSpec, fixture.tool, fixture.tests);
  gitSync(context.clone, ["add", "tools/generated"]);
  gitSync(context.clone, ["commit", "--quiet", "-m", `tools: ${fixtures.map((fixture) => String(fixture.spec.name)).join(", ")}`]);
}

/** The fenced ```json block of a page that holds `marker`, as a file a step writes. */
export function pageJson(doc: string, marker: string): string {
  return pageBlock(doc, /^```json\n([\s\S]*?)^```$/gm, marker);
}

/** The block of a page that `fence` finds (its first group) and that holds `marker`. */
export function pageBlock(doc: string, fence: RegExp, marker: string): string {
  const page = readFileSync(join(import.meta.dir, "..", doc), "utf8");
  const block = [...page.matchAll(fence)].map((found) => found[1] ?? "").find((text) => text.includes(marker));
  if (block === undefined) throw new Error(`${doc} has no block with ${marker} any more: update its walk`);
  return block;
}
