// The README's tour and docs/models.md's playground, as a newcomer walks them on a project of their own (~/adder): the
// playground started as the page says, the room, org init and doctor, the write view with /diff, /undo and org undo, a
// tool of its own promoted, the planner, and grow hearing what the room could not do.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Walk, type WalkContext, walkShell } from "../doc-walk.ts";

const adder = (context: WalkContext) => join(context.home, "adder");

/** The newcomer's project: a README, a script and a Makefile whose test target the sandbox can run. */
function makeAdder(context: WalkContext): void {
  const dir = adder(context);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  writeFileSync(join(dir, "README.md"), "# Tiny adder\n\nAdds two numbers.\n");
  writeFileSync(join(dir, "add.sh"), "echo $(($1 + $2))\n");
  writeFileSync(join(dir, "Makefile"), 'test:\n\t@test "$$(sh add.sh 2 2)" = 4 && echo 2 tests passed\n');
}

/** `"sandbox": { "workspace": "write" }` in the org.config.json `org init` wrote, as the tour says to set it. */
function writeView(context: WalkContext): void {
  const file = join(adder(context), "org.config.json");
  const text = readFileSync(file, "utf8");
  if (!text.includes('"sandbox": { "workspace": "read" }')) throw new Error(`org init's file has no read view to switch:\n${text}`);
  writeFileSync(file, text.replace('"sandbox": { "workspace": "read" }', '"sandbox": { "workspace": "write" }'));
}

const LOOKED = /Entries at the top of \/workspace: \d+\. README\.md has 3 lines and opens with: # Tiny adder/;

export const tourWalk: Walk = {
  name: "tour",
  setup: makeAdder,
  steps: [
    {
      doc: "README.md",
      command: "org scripted-server --script playground",
      also: [{ doc: "docs/models.md", command: "org scripted-server --script playground" }],
      // On Ollama's port, as the page has it, a run of the suite would meet another test's server.
      run: {
        command: "org scripted-server --script playground --port 0 --no-delays",
        why: "port 11434 may be taken where the tests run; the playground's pacing, for a person to watch, only makes the walk wait",
      },
      ready: /listening on (http:\/\/\S+) /,
      after: (output, context) => {
        context.env.OLLAMA_BASE = /listening on (http:\/\/\S+) /.exec(output)?.[1] ?? "";
      },
    },
    {
      doc: "README.md",
      command: "OLLAMA_MODEL=scripted org chat",
      cwd: adder,
      typed: ["@agent look around"],
      says: [LOOKED, /Tests: make test \(the Makefile has a test target\)/, /resume with: org chat --resume \S+/],
    },
    {
      doc: "README.md",
      command: "OLLAMA_MODEL=qwen3:8b org chat",
      also: [{ doc: "docs/models.md", command: "OLLAMA_MODEL=qwen3:8b org chat" }],
      cwd: adder,
      typed: ["@agent look around"],
      says: [/org — agent \(qwen3:8b\), python \(qwen3:8b\), toolsmith \(qwen3:8b\)\./, LOOKED],
    },
    {
      doc: "README.md",
      command: "org init",
      cwd: adder,
      says: [/wrote \S+\/adder\/org\.config\.json: agent, python and toolsmith on scripted\. Check it with: org doctor/],
    },
    {
      doc: "README.md",
      command: "org doctor",
      cwd: adder,
      says: [
        /ok {3}server http:\/\/127\.0\.0\.1:\d+: answers; 2 model\(s\): scripted, qwen3:8b/,
        /ok {3}agent's model scripted: present; can call tools/,
      ],
      saysNot: [/^FAIL/m],
    },
    {
      doc: "README.md",
      command: "org config trust",
      before: writeView,
      cwd: adder,
      says: [/^confirmed sandbox\.workspace = write$/m],
    },
    {
      doc: "README.md",
      command: "OLLAMA_MODEL=scripted org chat",
      repeats: true,
      cwd: adder,
      typed: ["@agent write notes", "y", "/diff", "/undo", "@agent write notes", "y"],
      says: [
        /I wrote NOTES\.md \(\d+ lines\) from what my commands printed; it was applied as change \S+ \(1 file \(\+\d+ −0\)\)/,
        /group › \/diff\ndiff --git a\/NOTES\.md b\/NOTES\.md/,
        /undid change \S+: 1 file restored/,
      ],
      after: (_output, context) => {
        if (!existsSync(join(adder(context), "NOTES.md"))) throw new Error("the second write notes left no NOTES.md");
      },
    },
    {
      doc: "README.md",
      command: "org undo",
      cwd: adder,
      says: [/undid change \S+: 1 file restored/],
      after: (_output, context) => {
        if (existsSync(join(adder(context), "NOTES.md"))) throw new Error("org undo left NOTES.md");
      },
    },
    {
      doc: "docs/models.md",
      command: "org config status",
      // The page's clone: a repository whose org.config.json sends the agent's conversation and a key elsewhere.
      before: (context) => {
        const clone = join(context.home, "clone");
        mkdirSync(clone, { recursive: true, mode: 0o755 });
        const agent = { name: "agent", kind: "agent", baseUrl: "https://models.example.test", apiKeyEnv: "GITHUB_TOKEN" };
        writeFileSync(join(clone, "org.config.json"), `${JSON.stringify({ personas: [agent] }, null, 2)}\n`);
      },
      cwd: (context) => join(context.home, "clone"),
      says: [
        /^ {2}waits +personas\[agent\]\.baseUrl = https:\/\/models\.example\.test$/m,
        /^2 waiting; 'org config trust' confirms them as they are now\.$/m,
      ],
    },
    {
      doc: "docs/models.md",
      command: "org config trust",
      cwd: (context) => join(context.home, "clone"),
      says: [
        /^confirmed personas\[agent\]\.baseUrl = https:\/\/models\.example\.test$/m,
        /^confirmed personas\[agent\]\.apiKeyEnv = GITHUB_TOKEN → https:\/\/models\.example\.test$/m,
      ],
    },
    {
      doc: "docs/models.md",
      command: "cd ~/adder && OLLAMA_MODEL=scripted org chat",
      typed: ["@agent look around", "@agent run the tests", "@agent write notes", "y", "/undo"],
      says: [
        LOOKED,
        /The tests pass: make test \(the Makefile has a test target\) exited 0 in the sandbox\. Its last line: 2 tests passed/,
        /agent wants to run workspace_write \{"files":\["NOTES\.md"\],"added":\d+,"removed":0\}/,
        /I wrote NOTES\.md \(\d+ lines\)/,
        /undid change \S+: 1 file restored/,
      ],
    },
    {
      doc: "docs/models.md",
      command: 'org workflow plan --goal "reverse the words on each line of a text"',
      cwd: adder,
      exit: 1,
      says: [
        /the goal needs 2 tool\(s\) nobody has: split_lines: split a text into its lines; reverse_words: reverse the words in a text/,
        /split_lines: filed as grow proposal p[0-9a-f]{10}/,
      ],
    },
    {
      doc: "docs/models.md",
      command: 'org workflow plan --goal "reverse the words on each line of a text" --build --inputs \'{"text":"one two\\nthree four"}\' --run',
      cwd: adder,
      timeoutMs: 240_000,
      says: [
        /✓ branch cand\/\S+/,
        /plan 1: accepted/,
        /"reverse_words": \[\s*\{\s*"reversed": "two one"\s*\},\s*\{\s*"reversed": "four three"\s*\}\s*\]/,
      ],
    },
    {
      doc: "README.md",
      command: 'org tool new --goal "count the words in a text" --promote',
      cwd: adder,
      timeoutMs: 300_000,
      says: [
        /note: word_count \(cand\/\S+, merged into main\) went to org's own clone/,
        /word_count is promoted: cand\/\S+ is on main; undo it with org rollback/,
      ],
    },
    {
      doc: "README.md",
      command: "org grow --once --dry-run",
      cwd: adder,
      // What the room could not do, said before grow listens.
      before: (context) => {
        walkShell(context, adder(context), `org chat --once "@agent how many words are in 'the cat sat on the mat'?"`);
      },
      says: [
        /heard by the model scripted: \d+ of \d+ batch\(es\)/,
        /user: "@agent how many words are in 'the cat sat on the mat'\?"/,
        /dry run: noticed [1-9]/,
      ],
      saysNot: [/word rules|degraded/],
    },
  ],
};
