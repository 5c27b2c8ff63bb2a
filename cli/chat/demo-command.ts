import { chmodSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sleep } from "../../concurrency/sleep.ts";
import { environmentSettings, processEnvironment } from "../../config/environment.ts";
import { loadOrgConfig, type OrgConfig } from "../../config/org-config.ts";
import { AUDIT_DIR, CHECKOUT_DIR } from "../../config/workspace-paths.ts";
import type { Style } from "../terminal/ansi.ts";
import { createConsoleRenderer } from "./console-renderer.ts";
import type { RoomEvent } from "../../room/room-event.ts";
import { openRoom, type Room } from "../../room/room.ts";
import { assembleRoom, type RoomExtras } from "../../assembly/assemble-room.ts";
import { openMemoryForRoom } from "../../memory/open-memory.ts";
import { sanitizeForTerminal } from "../../security/terminal-sanitizer.ts";
import { terminalSafeJson } from "../../security/terminal-safe-json.ts";
import { formatRoomMode } from "../../room/room-mode.ts";
import { demoCandidateBranch, demoRepository } from "../../cycle/demo-repository.ts";
import { AuditLog } from "../../security/audit-log.ts";
import { scriptFiles } from "../../scripted-server/bundled-scripts.ts";
import { loadScript, mergeScripts } from "../../scripted-server/script.ts";
import { startScriptedServer } from "../../scripted-server/start-scripted-server.ts";
import { type ChatLoopContext, handleLine } from "./chat-loop.ts";
import { isRefusal } from "../../security/refusal.ts";
import type { Command } from "../command/command.ts";
import { judgeAndPromote } from "../../cycle/judge-and-promote.ts";
import { nameAndSummary } from "../command/command-summaries.ts";
import { shellWord } from "../../security/shell-word.ts";
import { judgeCommands, orgInvocation } from "../command/org-invocation.ts";
import { parseCommandArgs } from "../command/parse-command-args.ts";
import { roomSlashHost } from "./room-slash-host.ts";
import { prepareWorkspace } from "../command/workspace-dir.ts";
import { sandboxAccessFrom } from "../../assembly/sandbox-policy-from.ts";
import type { SandboxAccess } from "../../sandbox/run-sandboxed.ts";
import type { RepoGit } from "../../git/repo-git.ts";

const DEMO_DIR = join(CHECKOUT_DIR, "demo");

/** What the demo types, line by line, as a user would. */
export const DEMO_LINES = [
  "Hi all! What can you do in here? Have a look around the sandbox.",
  "/mode direct:python",
  "What are the first ten square numbers, and what do they add up to?",
  "/mode direct:toolsmith",
  "I need a tool to count the words in a text.",
];

/**
 * What the demo types once the new tool is promoted: the agent is asked to use it; then its earlier messages are
 * compacted into org's summary (the scripted server plays the summariser) and `/context` shows the next prompt holding it.
 */
export const DEMO_AFTER_PROMOTION_LINES = [
  "/mode direct:agent",
  'Count the words in "the gate promoted it" with the new tool.',
  "/compact",
  "/context",
];

/** The window the demo's scripted server says it has (`/props`), so `/context` shows a window a server stated. */
const DEMO_CONTEXT_TOKENS = 8192;

/** The input the demo runs the toolsmith's new tool with. */
const TRY_INPUTS = '{"text":"one two three"}';

/**
 * The demo's room, assembled as chat's and serve's are; its "checkout" is the throw-away repository, so the
 * toolsmith's branch and the promoted tools read are never those of org's own checkout.
 */
export async function openDemoRoom(
  where: SandboxAccess & { config: OrgConfig; workspaceDir: string; toolRepoDir: string; resume?: string; approve?: RoomExtras["approve"] },
  onEvent: (event: RoomEvent) => void,
): Promise<{ room: Room; close(): Promise<void> }> {
  const { config, workspaceDir, toolRepoDir } = where;
  const notify = (line: string) => process.stderr.write(`org: ${sanitizeForTerminal(line)}\n`);
  const memory = openMemoryForRoom(workspaceDir, notify, config.secrets);
  const assembly = await assembleRoom({
    config,
    workspaceDir,
    checkoutDir: toolRepoDir,
    sandbox: where.sandbox,
    sandboxPolicy: where.sandboxPolicy,
    toolsmith: { hintRepo: toolRepoDir, invocation: orgInvocation() },
    notify,
    ...(memory ? { memory } : {}),
  });
  const room = await openRoom(
    assembly.options({
      audit: new AuditLog(join(workspaceDir, AUDIT_DIR)),
      onEvent,
      ...(where.resume ? { resume: where.resume } : {}),
      ...(where.approve ? { approve: where.approve } : {}),
    }),
  );
  return {
    room,
    async close() {
      await room.close();
      assembly.close();
      memory?.close();
    },
  };
}

const HELP = `Usage: org demo [--fast] [--workspace DIR]

Plays a scripted session in a real room, with no model needed: the bundled scripted server answers as
the personas over real HTTP streaming, and tools run in the real sandbox. A message to the group gets a
reply from each of the three personas, two streamed at once; the agent runs sh and reports; then
/mode direct:python, and python runs python_run and sums up; then /mode direct:toolsmith, and the
toolsmith builds a word-counting tool (spec, code, tests, validation in the sandbox) onto a cand/ branch
of a throw-away git repository inside the workspace, never your checkout. The demo prints how to try it
and runs it once with org tool run. Then the whole loop, in that repository: the fitness gate judges the
branch against two serve instances (main and the candidate), promote merges it into main, and the session,
opened again, offers word_count to the agent, which calls it (the demo answers the approval). Then /compact
summarises the agent's earlier messages ("compacted N messages into a summary, T tokens") and /context shows
its next prompt, part by part, in tokens, the summary before the newest messages. Ends by printing where the
transcript is and how to go on; the workspace is kept for that (remove it when done).

Options:
  --fast             type the lines at once (no typing delay)
  --workspace DIR    where the demo's .org/ goes (default: a new temp dir, kept so you can read it)

Example:
  npm start          (the same as org demo)`;

/** Where the demo's .org/ goes: `--workspace`, else a new temp dir (kept, to read after). */
function demoWorkspace(workspace: string | undefined): string {
  if (workspace) return prepareWorkspace(workspace);
  const workspaceDir = mkdtempSync(join(tmpdir(), "org-demo-"));
  // The sandbox runs tools as an unprivileged uid that must be able to enter the workspace; mkdtemp makes it 0700.
  chmodSync(workspaceDir, 0o755);
  return workspaceDir;
}

/**
 * The script the scripted server answers the demo with: `--script demo`'s, the roles (planner, listener, diagnosis), the
 * demo's own rules, then the toolsmith's.
 */
async function loadDemoScript(): Promise<Awaited<ReturnType<typeof loadScript>>> {
  return mergeScripts(await Promise.all(scriptFiles("demo").map((file) => loadScript(file))));
}

/** What the demo shows and counts while the room runs: the tool outputs of the current line, and the errors so far. */
type DemoTally = { toolOutputs: { persona: string; tool: string; output: string }[]; errors: number };

/** Notes a room event in the tally: a tool's output to show after the line, a failure to count. */
function tallyEvent(tally: DemoTally, event: RoomEvent): void {
  // build_tool's output is the toolsmith's reply, shown already.
  if (event.type === "tool-result" && event.call.name !== "build_tool")
    tally.toolOutputs.push({ persona: event.persona, tool: event.call.name, output: event.output });
  if (event.type === "error" || (event.type === "tool-result" && !event.ok)) tally.errors += 1;
}

type Write = (text: string, style?: Style) => void;

/** Types each of DEMO_LINES at the prompt as a user would, lets the room answer, and shows what each tool printed. */
async function playDemoLines(
  room: Room,
  context: ChatLoopContext,
  play: { lines: readonly string[]; write: Write; idle: () => Promise<void>; tally: DemoTally; fast: boolean },
  signal: AbortSignal,
): Promise<void> {
  const { write, tally } = play;
  for (const line of play.lines) {
    if (signal.aborted) break;
    write(`${formatRoomMode(room.mode)} › `, "bold");
    for (const character of line) {
      write(character);
      if (!play.fast) await sleep(18 + Math.random() * 40, signal);
    }
    write("\n");
    if (!play.fast) await sleep(300, signal);
    tally.toolOutputs.length = 0;
    await handleLine(line, context, signal);
    await play.idle();
    // Tool output stays out of the room (the personas summarise it); the demo shows it so you can check them.
    for (const result of tally.toolOutputs) {
      write(`  ┌ what ${result.tool} printed in the sandbox for ${result.persona}:\n`, "gray");
      for (const outputLine of result.output.trimEnd().split("\n")) write(`  │ ${outputLine}\n`, "gray");
    }
    write("\n");
  }
}

/** Runs word_count once from `branch` as `tool run --ref` does (checked, sandboxed, redacted) and writes its output or why it failed. */
async function runToolOnce(toolRepo: RepoGit, access: SandboxAccess, branch: string, write: Write, signal: AbortSignal): Promise<boolean> {
  const { readToolAt } = await import("../../generated-tools/tool-catalog.ts");
  const read = await readToolAt(toolRepo, branch, "word_count", signal);
  if (!read.ok) {
    write(`${read.problem}\n`);
    return false;
  }
  const { runToolCopy } = await import("../../generated-tools/promoted-tools.ts");
  const result = await runToolCopy({
    repoDir: toolRepo.repoDir,
    code: read.code,
    metadata: read.metadata,
    input: JSON.parse(TRY_INPUTS),
    signal,
    ...access,
  });
  if (!result.ok) {
    write(`word_count failed (${result.reason}): ${result.error}\n`);
    return false;
  }
  write(`${terminalSafeJson(result.output)}\n`);
  return true;
}

/** Runs the tool the toolsmith built once, from its branch, and says how to try it; the number of errors (0 or 1), and the branch. */
async function tryToolsmithBranch(
  toolRepo: RepoGit,
  access: SandboxAccess,
  write: Write,
  signal: AbortSignal,
): Promise<{ errors: number; branch?: string }> {
  const branch = await demoCandidateBranch(toolRepo, signal);
  if (branch) {
    const tryArgs = ["tool", "run", "word_count", "--inputs", TRY_INPUTS, "--ref", branch, "--repo", toolRepo.repoDir];
    write(`the toolsmith's branch: ${branch} in the throw-away repository ${toolRepo.repoDir}\n`);
    write(`try it: ${orgInvocation()} ${tryArgs.map(shellWord).join(" ")}\n`, "bold");
    write("ran once, what word_count printed:\n", "gray");
    const failed = !(await runToolOnce(toolRepo, access, branch, write, signal));
    write("\n");
    return { errors: failed ? 1 : 0, branch };
  }
  if (signal.aborted) return { errors: 0 };
  write("the toolsmith made no branch (its reply above says why)\n");
  return { errors: 1 };
}

/**
 * The demo's room session: the opening lines, the typed lines, the toolsmith's tool tried once from its branch,
 * judged by the fitness gate and promoted in the throw-away repository, then the same session opened again (as a
 * new chat would be) where the agent calls the promoted tool; the exit code.
 */
type DemoSetup = { config: OrgConfig; workspaceDir: string; serverUrl: string; toolRepo: RepoGit; color: boolean; fast: boolean };

/** What the demo shows with: the terminal (every byte through the renderer), the sandbox, and the tally of what went wrong. */
type DemoShow = {
  setup: DemoSetup;
  access: SandboxAccess;
  renderer: ReturnType<typeof createConsoleRenderer>;
  write: Write;
  tally: DemoTally;
};

async function playDemo(setup: DemoSetup, signal: AbortSignal): Promise<number> {
  const { config, workspaceDir } = setup;
  // Every byte for the terminal goes through the renderer: outside text sanitized, colours added after.
  const renderer = createConsoleRenderer({
    write: (text) => process.stdout.write(text),
    color: setup.color,
    personaColors: Object.fromEntries(config.personas.flatMap((persona) => (persona.color ? [[persona.name, persona.color]] : []))),
    columns: () => (process.stdout.isTTY ? process.stdout.columns : undefined),
  });
  const show: DemoShow = {
    setup,
    // One sandbox for the whole demo (both rooms, the tool tried once, the gate's instances), under the config's policy.
    access: sandboxAccessFrom({ config }),
    renderer,
    write: (text, style) => renderer.print(renderer.ansi.text(text, style)),
    tally: { toolOutputs: [], errors: 0 },
  };
  const { write, tally } = show;
  const room = await playSession(show, DEMO_LINES, { opening: true }, signal);
  const tried = await tryToolsmithBranch(setup.toolRepo, show.access, write, signal);
  tally.errors += tried.errors;
  if (tried.branch && !signal.aborted) await promoteAndReopen(show, tried.branch, room.sessionId, signal);
  write(`transcript: ${room.transcriptPath}\n`);
  write(`go on from there with a real model: ${orgInvocation()} chat --workspace ${shellWord(workspaceDir)} --resume ${room.sessionId}\n`, "gray");
  // The workspace is kept for that line; it is the user's to remove.
  write(`the workspace stays for that; done with it: rm -rf ${shellWord(workspaceDir)}\n`, "gray");
  if (tally.errors === 0) return 0;
  process.stderr.write(
    `org: the demo hit ${tally.errors} error${tally.errors === 1 ? "" : "s"} (shown above with ✗); run ` +
      `${orgInvocation()} sandbox check --workspace ${shellWord(workspaceDir)} to see whether the sandbox works there.\n`,
  );
  return 1;
}

/** One room over the session (a new one, or `resume`d), the lines typed into it, then closed. */
async function playSession(
  show: DemoShow,
  lines: readonly string[],
  more: { resume?: string; approve?: RoomExtras["approve"]; opening?: boolean },
  signal: AbortSignal,
): Promise<Room> {
  const { setup, renderer, write, tally } = show;
  const { config, workspaceDir } = setup;
  const { room, close } = await openDemoRoom(
    {
      config,
      workspaceDir,
      toolRepoDir: setup.toolRepo.repoDir,
      ...show.access,
      ...(more.resume ? { resume: more.resume } : {}),
      ...(more.approve ? { approve: more.approve } : {}),
    },
    (event: RoomEvent) => {
      renderer.handle(event);
      tallyEvent(tally, event);
    },
  );
  try {
    if (more.opening) {
      write("org demo", "bold");
      write(` — a real room; the scripted server at ${setup.serverUrl} answers as the personas.\n`);
      const names = room.personas().map((persona) => persona.name);
      write(`personas: ${names.join(", ")} · workspace ${workspaceDir}\n\n`, "gray");
    }
    const context = {
      host: roomSlashHost(room, config, workspaceDir),
      frontEnd: "terminal" as const,
      send: async (text: string, turnSignal: AbortSignal) => {
        await room.send(text, { signal: turnSignal });
        await renderer.idle();
      },
      write,
      clearScreen: () => {},
    };
    await playDemoLines(room, context, { lines, write, idle: () => renderer.idle(), tally, fast: setup.fast }, signal);
  } finally {
    await close();
  }
  return room;
}

/** The toolsmith's branch judged and promoted as org's own tools are; once promoted, the session opened again to use it. */
async function promoteAndReopen(show: DemoShow, branch: string, sessionId: string, signal: AbortSignal): Promise<void> {
  const { setup, write } = show;
  write(`judge and promote it, as ${orgInvocation()} fitness and ${orgInvocation()} promote do for org's own tools:\n`, "bold");
  let promoted = false;
  try {
    promoted = await judgeAndPromote(
      {
        config: setup.config,
        toolRepo: setup.toolRepo,
        branch,
        workspaceDir: setup.workspaceDir,
        rejudgeHint: (named) => judgeCommands(setup.toolRepo.repoDir, named),
        ...show.access,
      },
      (text) => write(text),
      signal,
    );
  } catch (error) {
    if (!isRefusal(error)) throw error;
    write(`${error.message}\n`);
  }
  write("\n");
  if (!promoted) {
    show.tally.errors += 1;
    return;
  }
  write("the room opened again on the same session, as a new chat is, now offers word_count:\n\n", "bold");
  const approve: RoomExtras["approve"] = async (persona, call) => {
    write(`${persona} asks to run ${call.name} (promoted tools ask first); the demo answers y\n`, "gray");
    return true;
  };
  await playSession(show, DEMO_AFTER_PROMOTION_LINES, { resume: sessionId, approve }, signal);
}

/** `org demo [--fast] [--workspace DIR]`: whether to type at once, and where the workspace is. */
function parseDemoArgs(args: string[]): { fast: boolean; workspace?: string } {
  const { values } = parseCommandArgs("demo", args, { fast: { type: "boolean" }, workspace: { type: "string" } });
  return { fast: values.fast ?? false, ...(values.workspace !== undefined ? { workspace: values.workspace } : {}) };
}

/** `org demo`: the scripted session described in HELP. */
export const demoCommand: Command = {
  ...nameAndSummary("demo"),
  help: HELP,
  async run(args, signal) {
    const { fast, workspace } = parseDemoArgs(args);
    const color = Boolean(process.stdout.isTTY) && !environmentSettings().noColor;
    const workspaceDir = demoWorkspace(workspace);
    const script = await loadDemoScript();
    const toolRepo = await demoRepository(workspaceDir, signal);
    const server = await startScriptedServer({ script, port: 0, contextTokens: DEMO_CONTEXT_TOKENS });
    try {
      // The demo's personas live in demo/org.config.json; the scripted server stands in for Ollama.
      const config = loadOrgConfig(
        join(DEMO_DIR, "org.config.json"),
        processEnvironment({
          OLLAMA_BASE: server.url,
          OLLAMA_MODEL: "scripted", // demo-script.json offers this model id
        }),
      );
      return await playDemo({ config, workspaceDir, serverUrl: server.url, toolRepo, color, fast }, signal);
    } finally {
      await server.stop();
    }
  },
};
