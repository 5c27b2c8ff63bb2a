// The playground script (demo/playground-script.json, `org scripted-server --script playground`): a scripted agent for
// trying org on one's own project without a model. Its commands are the shell files in demo/playground/ (a line
// `. ./NAME.sh` takes in that file), and every reply after a command is made from what the command printed, through
// the named groups of the rule's `lastMessage` (`{{match.NAME}}`): the project's own files, README and test run.
// Run `bun demo/playground-script.ts` after changing this file or a command; a test checks the JSON is up to date.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ScriptInput } from "../scripted-server/script.ts";

const COMMANDS = join(import.meta.dir, "playground");

/** A command file with its `. ./NAME.sh` lines replaced by those files. */
export function playgroundCommand(file: string): string {
  return readFileSync(join(COMMANDS, file), "utf8").replace(/^\. \.\/([a-z-]+\.sh)$/gm, (_line, included: string) =>
    playgroundCommand(included).trimEnd(),
  );
}

type Rule = ScriptInput["rules"][number];
type Reply = Rule["reply"];

const AGENT = "agent";
const PYTHON = "python";
const NEXT =
  ' Say "run the tests" and I find how this project tests itself and run that in the sandbox; "write notes" and I write NOTES.md with what I found.';

/** A reply streamed a few characters at a time, as a small local model does. */
const say = (text: string, more: Partial<Reply> = {}): Reply => ({ text, chunkSize: 6, delayMs: 15, ...more });

const sh = (file: string, timeoutS: number): Partial<Reply> => ({
  toolCalls: [{ name: "sh", arguments: { cmd: playgroundCommand(file), timeout_s: timeoutS } }],
});

/** The agent's answers to what its own commands printed, each read off the output. */
function agentReadings(): Rule[] {
  const after = (lastMessage: string, text: string): Rule => ({ when: { persona: AGENT, lastTool: "sh", lastMessage }, reply: say(text) });
  return [
    after(
      String.raw`workspace: none \((?<why>[^)\n]*)\)`,
      'There is nothing at /workspace: {{match.why}}. Set it to "read" (or "write") in org.config.json and ask again.',
    ),
    after(
      String.raw`workspace: (?<entries>\d+) entries[\s\S]*?\nreadme: (?<readme>[^\n,]+), (?<lines>\d+ lines?)` +
        String.raw`\nfirst line: (?<first>[^\n]*)[\s\S]*?\ntests: (?<tests>[^\n]*)`,
      `Entries at the top of /workspace: {{match.entries}}. {{match.readme}} has {{match.lines}} and ` +
        `opens with: {{match.first}}\nTests: {{match.tests}}.${NEXT}`,
    ),
    after(
      String.raw`workspace: (?<entries>\d+) entries[\s\S]*?\nreadme: none[\s\S]*?\ntests: (?<tests>[^\n]*)`,
      `Entries at the top of /workspace: {{match.entries}}, and no README. Tests: {{match.tests}}.${NEXT}`,
    ),
    after(
      String.raw`test runner: none\nwhy: (?<why>[^\n]*)`,
      'I found no tests to run here: {{match.why}}. Tell me how this project is tested, or say "write notes".',
    ),
    after(
      String.raw`test runner: (?<runner>[^\n]*)\ntest exit code: 127 \((?<why>[^)\n]*)\)`,
      "I could not run {{match.runner}}: {{match.why}}, which sees the host's /usr read-only and has no network.",
    ),
    after(
      String.raw`test runner: (?<runner>[^\n]*)[\s\S]*?(?<last>[^\n]*)\ntest exit code: 0\n`,
      "The tests pass: {{match.runner}} exited 0 in the sandbox. Its last line: {{match.last}}\nThe whole log " +
        'is /scratch/playground-tests.log in my sandbox; say "write notes" and it goes into NOTES.md.',
    ),
    after(
      String.raw`test runner: (?<runner>[^\n]*)[\s\S]*?(?<last>[^\n]*)\ntest exit code: (?<code>\d+)\n`,
      "The tests fail: {{match.runner}} exited {{match.code}} in the sandbox. Its last line: " +
        '{{match.last}}\nThe whole log is /scratch/playground-tests.log in my sandbox; say "write notes" and it goes into NOTES.md.',
    ),
    after(
      "Read-only file system",
      'I could not write NOTES.md: /workspace is read-only in this room (sandbox.workspace is "read", the ' +
        'default). With "sandbox": { "workspace": "write" } in org.config.json, confirmed with org config ' +
        "trust (a setting that lets commands change your files waits for your word), my commands run on a " +
        "private copy, and what they change comes to you as a diff to approve; /diff shows it and /undo takes it back.",
    ),
    after(
      String.raw`notes: NOTES\.md, (?<lines>\d+ lines?)[\s\S]*\[workspace: applied to the workspace as change ` +
        String.raw`(?<change>[^:\s]+): (?<counts>[^\]\n]*)\]`,
      "I wrote NOTES.md ({{match.lines}}) from what my commands printed; it was applied as change " +
        "{{match.change}} ({{match.counts}}). /diff shows it again; /undo (or org undo from a shell) takes it back.",
    ),
    after(
      String.raw`notes: NOTES\.md, (?<lines>\d+ lines?)[\s\S]*\[workspace: not applied: (?<why>[^\]\n]*)`,
      "NOTES.md ({{match.lines}}) was not applied: {{match.why}}",
    ),
    // org patch asks for the commit message once the change is kept.
    after(
      String.raw`notes: NOTES\.md, (?<lines>\d+ lines?)[\s\S]*\[workspace: kept for the patch: (?<counts>[^\]\n]*)\]`,
      "docs: NOTES.md on what is in the project and how its tests ran\n\nThe scripted playground agent listed " +
        "the project, read its README and wrote {{match.lines}} of notes from what its commands printed in the sandbox ({{match.counts}}).",
    ),
    after(
      String.raw`notes: NOTES\.md, (?<lines>\d+ lines?)`,
      "I wrote NOTES.md ({{match.lines}}) in my copy of the workspace, but nothing here takes changes: " +
        "run me in the room (org chat) with the write view to get it as a diff.",
    ),
  ];
}

/**
 * The agent browsing, where the room offers it the browser: a message with an address opens it and does the steps it
 * asks for by ref (`click "Sign in"`, `type "ada" into "Email" and submit`), and each result leads to the next step or to
 * what the page said (scripted-server/browse-reply.ts). First, so an address never reads as "look around".
 */
function browsing(): Rule[] {
  return [
    { when: { persona: AGENT, tool: "browser", lastRole: "user", lastMessage: String.raw`https?://` }, reply: say("", { browse: {} }) },
    { when: { persona: AGENT, lastTool: "browser" }, reply: say("", { browse: {} }) },
  ];
}

/** The playground's script: the agent's readings, what the user asks of it, python's line count, and catch-alls. */
export function playgroundScript(): ScriptInput {
  return {
    models: ["scripted", "qwen3:8b"],
    rules: [
      ...browsing(),
      ...agentReadings(),
      {
        when: { persona: AGENT, lastRole: "user", lastMessage: String.raw`\b(notes?|write)\b` },
        reply: say("I'll write NOTES.md from what my commands print.", sh("notes.sh", 300)),
      },
      {
        when: { persona: AGENT, lastRole: "user", lastMessage: String.raw`\btest(s|ing)?\b` },
        reply: say("I'll find how this project runs its tests, and run that in the sandbox.", sh("tests.sh", 300)),
      },
      {
        when: { persona: AGENT, lastRole: "user", lastMessage: String.raw`\b(look|around|explore|survey|project|readme|what is (this|here))\b` },
        reply: say("Let me look at /workspace.", {
          reasoning: "List the project, read the start of its README, see how it tests itself.",
          ...sh("survey.sh", 60),
        }),
      },
      {
        when: {
          persona: PYTHON,
          lastTool: "python_run",
          lastMessage: String.raw`file kinds: (?<kinds>[1-9]\d*)\n(?<top>[^\n:]+): (?<files>\d+ files?), (?<lines>\d+ lines?)`,
        },
        reply: say(
          "Kinds of file in the project: {{match.kinds}}. The most lines are in {{match.top}}: " +
            "{{match.files}}, {{match.lines}}. The tool's output has the first ten.",
        ),
      },
      {
        when: { persona: PYTHON, lastTool: "python_run", lastMessage: "file kinds: 0" },
        reply: say("There is no file under /workspace for me to count."),
      },
      {
        when: { persona: PYTHON, lastRole: "user", lastMessage: String.raw`\b(lines?|count|size|how big)\b` },
        reply: say("I'll count the project's lines by kind of file.", {
          toolCalls: [{ name: "python_run", arguments: { code: readFileSync(join(COMMANDS, "count-lines.py"), "utf8") } }],
        }),
      },
      {
        when: { persona: AGENT, lastRole: "tool" },
        reply: say("My command did not print what I look for; the tool's output above says what happened."),
      },
      {
        when: { persona: AGENT },
        reply: say(
          'I am the playground\'s scripted agent, not a model: I answer "look around" (list /workspace, read ' +
            'its README), "run the tests" (find how the project tests itself and run that in the sandbox) and ' +
            '"write notes" (NOTES.md through the workspace\'s write view); given an address (https://…) where the room ' +
            'offers me the browser, I open it, do what you ask by name (click "…", type "…" into "…") and say what the page says.',
        ),
      },
      {
        when: { persona: PYTHON },
        reply: say(
          "I am the playground's scripted python: ask me to \"count the lines\" and I count the project's lines by kind of file with python_run.",
        ),
      },
    ],
  };
}

export const PLAYGROUND_SCRIPT_FILE = join(import.meta.dir, "playground-script.json");

/** The file as it should be. */
export function playgroundScriptJson(): string {
  return `${JSON.stringify(playgroundScript(), null, 2)}\n`;
}

if (import.meta.main) writeFileSync(PLAYGROUND_SCRIPT_FILE, playgroundScriptJson());
