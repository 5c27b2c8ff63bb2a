import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sleep } from "../concurrency/sleep.ts";
import { environmentSettings } from "../config/environment.ts";
import { loadOrgConfig, type OrgConfig } from "../config/org-config.ts";
import { AUDIT_DIR } from "../config/workspace-paths.ts";
import type { Style } from "./ansi.ts";
import { createConsoleRenderer } from "./console-renderer.ts";
import type { RoomEvent } from "../room/room-event.ts";
import { openRoom, type Room } from "../room/room.ts";
import { assembleRoom } from "../assembly/assemble-room.ts";
import { openMemoryForRoom } from "../memory/open-memory.ts";
import { sanitizeForTerminal } from "../security/terminal-sanitizer.ts";
import { formatRoomMode } from "../room/room-mode.ts";
import { RepoGit } from "../git/repo-git.ts";
import { AuditLog } from "../security/audit-log.ts";
import { loadScript } from "../scripted-server/script.ts";
import { startScriptedServer } from "../scripted-server/start-scripted-server.ts";
import { handleLine } from "./chat-loop.ts";
import type { Command } from "./command.ts";
import { nameAndSummary } from "./command-summaries.ts";
import { shellWord } from "../security/shell-word.ts";
import { orgInvocation } from "./org-invocation.ts";
import { parseCommandArgs } from "./parse-command-args.ts";
import { roomSlashHost } from "./room-slash-host.ts";
import { toolCommand } from "./tool-command.ts";
import { prepareWorkspace } from "./workspace-dir.ts";

const DEMO_DIR = join(import.meta.dir, "..", "demo");

/** What the demo types, line by line, as a user would. */
export const DEMO_LINES = [
  "Hi all! What can you do in here? Have a look around the sandbox.",
  "/mode direct:python",
  "What are the first ten square numbers, and what do they add up to?",
  "/mode direct:toolsmith",
  "I need a tool to count the words in a text.",
];

/** The input the demo runs the toolsmith's new tool with. */
const TRY_INPUTS = '{"text":"one two three"}';

/**
 * The demo's room, assembled as chat's and serve's are; its "checkout" is the throw-away repository, so the
 * toolsmith's branch and the promoted tools read are never those of org's own checkout.
 */
export async function openDemoRoom(
  where: { config: OrgConfig; workspaceDir: string; toolRepoDir: string },
  onEvent: (event: RoomEvent) => void,
): Promise<{ room: Room; close(): Promise<void> }> {
  const { config, workspaceDir, toolRepoDir } = where;
  const notify = (line: string) => process.stderr.write(`org: ${sanitizeForTerminal(line)}\n`);
  const memory = openMemoryForRoom(workspaceDir, notify);
  const assembly = await assembleRoom({
    config,
    workspaceDir,
    checkoutDir: toolRepoDir,
    toolsmith: { hintRepo: toolRepoDir, invocation: orgInvocation() },
    notify,
    ...(memory ? { memory } : {}),
  });
  const room = await openRoom(assembly.options({ audit: new AuditLog(join(workspaceDir, AUDIT_DIR)), onEvent }));
  return {
    room,
    async close() {
      await room.close();
      assembly.close();
      memory?.close();
    },
  };
}

/** A throw-away git repository with a `main` commit, for the toolsmith's candidate branch (never the org checkout). */
async function throwawayRepo(parentDir: string, signal: AbortSignal): Promise<RepoGit> {
  const dir = mkdtempSync(join(parentDir, "toolsmith-repo-"));
  // Validation runs as the sandbox's uid, which must pass through the repository's folder.
  chmodSync(dir, 0o755);
  const git = new RepoGit(dir);
  await git.run(["init", "--quiet", "--initial-branch=main"], { signal });
  writeFileSync(join(dir, "README.md"), "A throw-away repository for org demo: the toolsmith's candidate branches land here.\n");
  await git.run(["add", "README.md"], { signal });
  await git.run(["commit", "--quiet", "-m", "demo: a main for candidate branches"], { signal });
  return git;
}

const HELP = `Usage: org demo [--fast] [--workspace DIR]

Plays a scripted session in a real room, with no model needed: the bundled scripted server answers as
the personas over real HTTP streaming, and tools run in the real sandbox. A message to the group gets a
reply from each of the three personas, two streamed at once; the agent runs sh and reports; then
/mode direct:python, and python runs python_run and sums up; then /mode direct:toolsmith, and the
toolsmith builds a word-counting tool (spec, code, tests, validation in the sandbox) onto a cand/ branch
of a throw-away git repository inside the workspace, never your checkout. The demo prints how to try it
and runs it once with org tool run. Ends by printing where the transcript is.

Options:
  --fast             type the lines at once (no typing delay)
  --workspace DIR    where the demo's .org/ goes (default: a new temp dir, kept so you can read it)

Example:
  npm start          (the same as org demo)`;

function parseDemoArgs(args: string[]): { fast: boolean; workspace?: string } {
  const { values } = parseCommandArgs("demo", args, { fast: { type: "boolean" }, workspace: { type: "string" } });
  return { fast: values.fast ?? false, ...(values.workspace !== undefined ? { workspace: values.workspace } : {}) };
}

/** `org demo`: the scripted session described in HELP. */
export const demoCommand: Command = {
  ...nameAndSummary("demo"),
  help: HELP,
  async run(args, signal) {
    const options = parseDemoArgs(args);
    const color = Boolean(process.stdout.isTTY) && !environmentSettings().noColor;
    const workspaceDir = options.workspace ? prepareWorkspace(options.workspace) : mkdtempSync(join(tmpdir(), "org-demo-"));
    // The sandbox runs tools as an unprivileged uid that must be able to enter the workspace; mkdtemp makes it 0700.
    if (!options.workspace) chmodSync(workspaceDir, 0o755);

    const script = await loadScript(join(DEMO_DIR, "demo-script.json"));
    // toolsmith-script.json plays the toolsmith (by the tool each request offers); the demo's own rules go first.
    const toolsmithScript = await loadScript(join(DEMO_DIR, "toolsmith-script.json"));
    const toolRepo = await throwawayRepo(workspaceDir, signal);
    const server = await startScriptedServer({ script: { ...script, rules: [...script.rules, ...toolsmithScript.rules] }, port: 0 });
    try {
      // The demo's personas live in demo/org.config.json; the scripted server stands in for Ollama.
      const config = loadOrgConfig(join(DEMO_DIR, "org.config.json"), {
        ...process.env,
        OLLAMA_BASE: server.url,
        OLLAMA_MODEL: "scripted", // demo-script.json offers this model id
      });
      // Every byte for the terminal goes through the renderer: outside text sanitized, colours added after.
      const renderer = createConsoleRenderer({
        write: (text) => process.stdout.write(text),
        color,
        personaColors: Object.fromEntries(config.personas.flatMap((persona) => (persona.color ? [[persona.name, persona.color]] : []))),
        columns: () => (process.stdout.isTTY ? process.stdout.columns : undefined),
      });
      const { ansi } = renderer;
      const write = (text: string, style?: Style) => renderer.print(ansi.text(text, style));
      const toolOutputs: { persona: string; tool: string; output: string }[] = [];
      let errors = 0;
      const { room, close } = await openDemoRoom({ config, workspaceDir, toolRepoDir: toolRepo.repoDir }, (event: RoomEvent) => {
        renderer.handle(event);
        // build_tool's output is the toolsmith's reply, shown already.
        if (event.type === "tool-result" && event.call.name !== "build_tool")
          toolOutputs.push({ persona: event.persona, tool: event.call.name, output: event.output });
        if (event.type === "error" || (event.type === "tool-result" && !event.ok)) errors += 1;
      });
      try {
        write("org demo", "bold");
        write(` — a real room; the scripted server at ${server.url} answers as the personas.\n`);
        write(
          `personas: ${room
            .personas()
            .map((persona) => persona.name)
            .join(", ")} · workspace ${workspaceDir}\n\n`,
          "gray",
        );
        const context = {
          host: roomSlashHost(room, config, workspaceDir),
          send: async (text: string, turnSignal: AbortSignal) => {
            await room.send(text, { signal: turnSignal });
            await renderer.idle();
          },
          write,
          clearScreen: () => {},
        };
        for (const line of DEMO_LINES) {
          if (signal.aborted) break;
          write(`${formatRoomMode(room.mode)} › `, "bold");
          for (const character of line) {
            write(character);
            if (!options.fast) await sleep(18 + Math.random() * 40, signal);
          }
          write("\n");
          if (!options.fast) await sleep(300, signal);
          toolOutputs.length = 0;
          await handleLine(line, context, signal);
          await renderer.idle();
          // Tool output stays out of the room (the personas summarise it); the demo shows it so you can check them.
          for (const result of toolOutputs) {
            write(`  ┌ what ${result.tool} printed in the sandbox for ${result.persona}:\n`, "gray");
            for (const outputLine of result.output.trimEnd().split("\n")) write(`  │ ${outputLine}\n`, "gray");
          }
          write("\n");
        }
      } finally {
        await close();
      }
      const branches = (await toolRepo.run(["for-each-ref", "--format=%(refname:short)", "refs/heads/cand/"], { signal })).split("\n").filter(Boolean);
      const branch = branches[0];
      if (branch) {
        const tryArgs = ["tool", "run", "word_count", "--inputs", TRY_INPUTS, "--ref", branch, "--repo", toolRepo.repoDir];
        write(`the toolsmith's branch: ${branch} in the throw-away repository ${toolRepo.repoDir}\n`);
        write(`try it: ${orgInvocation()} ${tryArgs.map(shellWord).join(" ")}\n`, "bold");
        write("ran once, what word_count printed:\n", "gray");
        if ((await toolCommand.run(tryArgs.slice(1), signal)) !== 0) errors += 1;
        write("\n");
      } else if (!signal.aborted) {
        write("the toolsmith made no branch (its reply above says why)\n");
        errors += 1;
      }
      write(`transcript: ${room.transcriptPath}\n`);
      write(`go on from there with a real model: ${orgInvocation()} chat --workspace ${shellWord(workspaceDir)} --resume ${room.sessionId}\n`, "gray");
      if (errors > 0) {
        process.stderr.write(
          `org: the demo hit ${errors} error${errors === 1 ? "" : "s"} (shown above with ✗); run ${orgInvocation()} sandbox check --workspace ${shellWord(workspaceDir)} to see whether the sandbox works there.\n`,
        );
        return 1;
      }
      return 0;
    } finally {
      await server.stop();
    }
  },
};
