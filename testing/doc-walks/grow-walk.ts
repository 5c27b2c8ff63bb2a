// docs/grow.md on a project against the playground, the project both the workspace and the main that grows (`--repo .`,
// grow.autoPromote on): people asked the room for a palindrome check three times, a vowel counter twice and a URL slug
// once, in words of their own; grow hears them (the playground's listener), builds, judges and promotes the two most
// needed, takes a person's word for the third, stops at its budget; then clamp_number, grown from two more asks, is
// called, refused, fails and is rolled back, its rebuild carrying the failing inputs.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { recordToolCall } from "../../usage/tool-calls.ts";
import { shellWord } from "../../security/shell-word.ts";
import { type Walk, type WalkContext, walkShell } from "../doc-walk.ts";
import { gitSync } from "../temp-git-repo.ts";
import { readGrowReport, reportIds } from "../../grow/grow-report.ts";

const DOC = "docs/grow.md";
const project = (context: WalkContext) => join(context.home, "project");

/** What people asked the room for, each in a session of its own, in words of their own. */
export const GROW_ASKS = [
  "Can someone build something that tells me if 'Never odd or even' is a palindrome?",
  "I wish we had a way to check whether a sentence reads the same backwards.",
  "is 'A man, a plan, a canal: Panama' the same forwards and backwards?",
  "I wish there was a vowel counter here.",
  "how many vowels are in 'onomatopoeia'?",
  "Could we have a tool that turns a blog post title into a URL slug?",
];

/** Says each line to the agent with `org chat --once` in the project, a session each. */
function ask(context: WalkContext, lines: readonly string[]): void {
  for (const line of lines) walkShell(context, project(context), `org chat --once ${shellWord(`@agent ${line}`)}`);
}

/** The project: a git repository that grows, with grow.autoPromote on and a window of 10 calls. */
function makeProject(context: WalkContext): void {
  const dir = project(context);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  writeFileSync(join(dir, ".gitignore"), ".org/\n");
  writeFileSync(join(dir, "org.config.json"), `${JSON.stringify({ grow: { autoPromote: true, window: 10 } }, null, 2)}\n`);
  gitSync(dir, ["init", "--quiet", "--initial-branch=main"]);
  gitSync(dir, ["add", "-A"]);
  gitSync(dir, ["commit", "--quiet", "-m", "a project whose main grows"]);
  context.cwd = dir;
  // The person's word on grow.autoPromote, a setting that waits for it.
  walkShell(context, dir, "org config trust");
  ask(context, GROW_ASKS);
}

/** `count` calls of clamp_number's tool.ts promoted now, as the runner records them: good ones, or failing on accepted inputs. */
function clampCalls(context: WalkContext, count: number, failing: boolean): void {
  const metadata = JSON.parse(readFileSync(join(project(context), "tools", "generated", "clamp_number", "metadata.json"), "utf8")) as {
    files: Record<string, string>;
  };
  for (let index = 0; index < count; index += 1) {
    const input = { value: 9 - index, min: 9, max: 1 };
    recordToolCall(project(context), {
      tool: "clamp_number",
      ...(metadata.files["tool.ts"] ? { version: metadata.files["tool.ts"] } : {}),
      ok: !failing,
      ...(failing ? { reason: "tool" as const, input, error: "the tool threw: min exceeds max" } : {}),
      durationMs: 500 + index,
    });
  }
}

/**
 * What the run that built the two most needed left: its report says both built, judged and promoted, in order, and
 * main holds exactly that: two merges, each tagged, the second made on the first, checked out, with both tools.
 */
function mainGrewByTwo(output: string, context: WalkContext): void {
  const dir = project(context);
  const git = (args: string[]) => gitSync(dir, args).trim();
  const report = readGrowReport(dir, reportIds(dir).at(-1) ?? "");
  const [first, second] = report?.builds ?? [];
  const problems = [
    ...(report?.summary.built === 2 && report.summary.judged === 2 && report.summary.promoted === 2
      ? []
      : ["the summary is not 2 built, judged, promoted"]),
    ...(report?.budget.tools === 2 && report.budget.maxTools === 2 ? [] : ["the budget is not 2 of 2 tools"]),
    ...(`${first?.tool} ${first?.state}, ${second?.tool} ${second?.state}` === "is_palindrome promoted, vowel_count promoted"
      ? []
      : ["the builds are not is_palindrome then vowel_count, promoted"]),
    ...(second?.promotion?.mainBefore === first?.promotion?.merge ? [] : ["the second merge is not made on the first"]),
    ...(git(["rev-list", "--first-parent", "main"]).split("\n").slice(0, 3).join(" ") ===
    [second?.promotion?.merge, first?.promotion?.merge, first?.promotion?.mainBefore].join(" ")
      ? []
      : ["main's last two steps are not the two merges"]),
    ...(git(["tag", "--list", "promote/*"]).split("\n").sort().join(" ") === [first?.promotion?.tag, second?.promotion?.tag].sort().join(" ")
      ? []
      : ["the promote/ tags are not the two the report names"]),
    ...(git(["rev-parse", "HEAD"]) === git(["rev-parse", "main"]) ? [] : ["HEAD is not main"]),
    ...(git(["ls-tree", "--name-only", "main:tools/generated"]) === "is_palindrome\nvowel_count" ? [] : ["main's tools are not the two"]),
    ...(output.includes("✓ promote: promoted") ? [] : ["the run did not say ✓ promote: promoted"]),
  ];
  if (problems.length > 0) throw new Error(`org grow --once --max-tools 2: ${problems.join("; ")}:\n${JSON.stringify(report, null, 2)}`);
}

const PALINDROME = /^(p[0-9a-f]{10}) pending 3× in 3 session\(s\) \(user 3\): "check whether a phrase is a palindrome"$/m;
const VOWELS = /^(p[0-9a-f]{10}) pending 2× in 2 session\(s\) \(user 2\): "count the vowels in a text"$/m;
const SLUG = /^(p[0-9a-f]{10}) pending 1× in 1 session\(s\) \(user 1\): "slugify a title for a URL"$/m;

export const growWalk: Walk = {
  name: "grow",
  setup: makeProject,
  steps: [
    {
      doc: DOC,
      command: "org grow --once --dry-run --max-tools 2 --repo .",
      says: [
        /heard by the model scripted: 1 of 1 batch\(es\)/,
        PALINDROME,
        VOWELS,
        SLUG,
        /^would build p[0-9a-f]{10} \(3×\): "check whether a phrase is a palindrome"$/m,
      ],
      after: (output, context) => {
        context.aliases.set("p33f6da09e0", SLUG.exec(output)?.[1] ?? "");
      },
    },
    { doc: DOC, command: "org grow proposals", says: [/^p[0-9a-f]{10} +pending +3× +3 +\S+ +check whether a phrase is a palindrome$/m] },
    {
      doc: DOC,
      command: "org grow show p33f6da09e0",
      says: [
        /^p[0-9a-f]{10} +pending +\(build\)$/m,
        /^goal: slugify a title for a URL$/m,
        /user: "@agent Could we have a tool that turns a blog post title into a URL slug\?"/,
      ],
    },
    {
      doc: DOC,
      command: "org grow --once --max-tools 2 --repo .",
      timeoutMs: 300_000,
      says: [
        /✓ fitness: verdict: pass — every stage passed/,
        /^promoted is_palindrome for p[0-9a-f]{10}/m,
        /^promoted vowel_count for p[0-9a-f]{10}/m,
      ],
      after: mainGrewByTwo,
    },
    {
      doc: DOC,
      command: "org grow accept p33f6da09e0",
      says: [/^accepted p[0-9a-f]{10} \(was pending\): slugify a title for a URL; the next run builds it when it is among the most needed$/m],
    },
    {
      doc: DOC,
      command: "org grow --once --budget-minutes 0.05 --repo .",
      // On a busy machine noticing alone may spend the three seconds: the run then says the budget was reached.
      says: [
        /the time budget (has \d+\.\d s left, too little for a build|was reached): 1 proposal\(s\) wait for the next run/,
        /\(stopped: time budget reached\)/,
      ],
    },
    {
      doc: DOC,
      command: `org tool run clamp_number --inputs '{"nottext":0}' --repo .`,
      // The page's clamp_number: grown from two more asks and promoted, then ten good calls.
      before: (context) => {
        ask(context, ["can you keep a value within bounds?", "we need something that clamps a number into a range"]);
        const grown = walkShell(context, project(context), "org grow --once --max-tools 1 --repo .");
        if (!grown.includes("promoted clamp_number")) throw new Error(`clamp_number was not grown:\n${grown}`);
        clampCalls(context, 10, false);
      },
      exit: 1,
      says: [/^org: clamp_number failed \(input\): the input does not match the tool's input schema: .*Unrecognized key: "nottext"$/m],
    },
    { doc: DOC, command: "org tool stats --repo .", says: [/^clamp_number +11 +10 +0 +1 +0 +100\.0 % +100\.0 %/m] },
    {
      doc: DOC,
      command: "org grow --once --dry-run --max-tools 0 --repo .",
      says: [
        /^p[0-9a-f]{10} promoted 2× in 2 session\(s\) \(user 2\): "clamp a number into a range"$/m,
        /^ {2}why: promoted as clamp_number \(promote\/\d{8}T\d{6}Z\)$/m,
      ],
    },
    {
      doc: DOC,
      command: "org tool stats clamp_number --repo .",
      before: (context) => clampCalls(context, 10, true),
      says: [/^clamp_number +21 +10 +10 +1 +0 +50\.0 %/m, /^ +failed: tool 10$/m],
    },
    {
      doc: DOC,
      command: "org grow --once --max-tools 0 --repo .",
      says: [
        new RegExp(
          String.raw`^rolled back clamp_number \(rollback\/\d{8}T\d{6}Z, undoes promote\/\d{8}T\d{6}Z\): success 0\.0 % over its la` +
            String.raw`st 10 calls; 100\.0 % over the 10 before;.* rebuild proposal (p[0-9a-f]{10})$`,
          "m",
        ),
      ],
      after: (output, context) => {
        context.aliases.set("p6e82ef7dca", /rebuild proposal (p[0-9a-f]{10})$/m.exec(output)?.[1] ?? "");
      },
    },
    {
      doc: DOC,
      command: "org grow show p6e82ef7dca",
      says: [/^p[0-9a-f]{10} +pending +\(rebuild\)$/m, /^failing input \(data\): \{"value":\d,"min":9,"max":1\} → the tool threw: min exceeds max$/m],
    },
  ],
};
