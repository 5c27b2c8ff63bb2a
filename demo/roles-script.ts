// The roles org asks a model for besides the personas, scripted (demo/roles-script.json, in the `playground` and `demo`
// bundles before their personas): the workflow planner (`submit_workflow`), org grow's listener (`report_needs`) and merge
// question (`same_need`), the supervisor's diagnosis (`propose_fix`) and its observer (`propose_facts`). Each reply is worked out from the request by
// the scripted server (scripted-server/computed-replies.ts), never canned: the plan from the tools the request lists, a
// need only where a person asked in that batch for a job the scripted toolsmith knows and the room said it could not, a
// fix only for an excerpt line it knows, quoted as it is. What it cannot do it says in words, without a call.
// Run `bun demo/roles-script.ts` after changing this file or testing/scripted-toolsmith.ts; a test checks the JSON.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ScriptInput } from "../scripted-server/script.ts";
import { SCRIPTED_TOOLS } from "../testing/scripted-toolsmith.ts";

/** What a room says when it could not do what it was asked: the scripted personas' own answers, and a missing tool. */
export const COULD_NOT = "\\bnot a model\\b|\\bI could not build\\b|\\bthere is no tool named\\b|\\bno tool\\b";

const PLANNER =
  'I am the scripted planner, not a model: I compose a goal\'s jobs (joined by ", and"; each on the whole ' +
  'text or "on each line" of it) from the tools listed, and I could not read a job in this goal.';

const DIAGNOSER =
  "I am the scripted diagnoser, not a model: I know a few marks in an excerpt (a lock file, a damaged " +
  "registry or memory database, a generated tool that fails to run, a model server that refuses connections, " +
  "an MCP server that keeps restarting), and this excerpt has none of them; it needs a person, or a model.";

/** The fixes the scripted diagnoser knows, each by a line of the excerpt it quotes. */
const FIXES = [
  {
    match: String.raw`(?<path>\S*\.org/\S+\.(?:lock|pid))\b`,
    action: "clear-stale-lock",
    target: "{{match.path}}",
    diagnosis: "A lock or pid file under .org/ is named in the failing lines; if its process is gone, clearing it lets the next run take it.",
  },
  {
    match: String.raw`(?<path>\S*\.org/registry/\S+\.(?:sqlite|db))\b.*(?:malformed|not a database|corrupt)`,
    action: "rebuild-registry",
    target: "{{match.path}}",
    diagnosis: "The registry's database reads as damaged; it is a cache, so making it anew loses nothing.",
  },
  {
    match: String.raw`(?<path>\S*\.org/memory/\S+\.(?:sqlite|db))\b.*(?:malformed|not a database|corrupt)`,
    action: "restore-memory",
    target: "{{match.path}}",
    diagnosis: "Memory's database reads as damaged; the newest good backup holds a copy to restore it from.",
  },
  {
    match: String.raw`\bMCP server (?<name>[A-Za-z0-9_.-]+)\b.*\b(?:restart|exit|crash)`,
    action: "hold-mcp-server",
    target: "{{match.name}}",
    diagnosis: "An MCP server keeps going down and coming back; holding it stops the restarts until its entry changes.",
  },
  {
    match: String.raw`\btool (?<name>[a-z][a-z0-9_]*) failed to run\b`,
    action: "hand-to-grow",
    target: "{{match.name}}",
    diagnosis: "A generated tool fails to run again and again; org grow judges a promoted tool by its calls and rolls a failing one back.",
  },
  {
    match: String.raw`\bECONNREFUSED\b|\bno model server answers\b`,
    action: "pause-grow",
    target: "grow",
    diagnosis: "The model server refuses connections, so unattended grow runs fail; pausing them waits for it to come back.",
  },
];

/** What the observer hears a person say about their habits, in their own words (each quoted as the expression matched it). */
const FACTS = [
  {
    match: "\\b(?:I|we) (?:always |usually |mostly )?use (?<tool>pnpm|yarn|bun|npm|uv|poetry|cargo)\\b",
    text: "uses {{match.tool}}",
    kind: "preference",
  },
  { match: "\\b(?:I|we) (?:always |usually )?test with (?<runner>vitest|jest|pytest|mocha)\\b", text: "tests with {{match.runner}}", kind: "fact" },
  { match: "\\bI prefer (?<what>tabs|spaces|short answers|TypeScript|Python)\\b", text: "prefers {{match.what}}", kind: "preference" },
] as const;

const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** The roles' script: each role answered by the one tool its request offers (a job heard by its words or its phrases). */
export function rolesScript(): ScriptInput {
  return {
    models: ["scripted", "qwen3:8b"],
    rules: [
      { when: { tool: "submit_workflow" }, reply: { planWorkflow: {}, text: PLANNER } },
      {
        when: { tool: "report_needs" },
        reply: {
          reportNeeds: SCRIPTED_TOOLS.map(({ words, heard, says, goal }) => ({
            match: [heard ?? words, ...says.map(escapeRegex)].join("|"),
            from: "^user$",
            turnHas: COULD_NOT,
            need: { goal, quote: "{{sentence}}" },
          })),
        },
      },
      { when: { tool: "same_need" }, reply: { sameNeed: {} } },
      { when: { tool: "propose_fix" }, reply: { proposeFix: FIXES, text: DIAGNOSER } },
      { when: { tool: "propose_facts" }, reply: { proposeFacts: FACTS.map((fact) => ({ ...fact })) } },
    ],
    meanings: SCRIPTED_TOOLS.map(({ says }) => [...says]),
  };
}

export const ROLES_SCRIPT_FILE = join(import.meta.dir, "roles-script.json");

/** The file as it should be. */
export function rolesScriptJson(): string {
  return `${JSON.stringify(rolesScript(), null, 2)}\n`;
}

if (import.meta.main) writeFileSync(ROLES_SCRIPT_FILE, rolesScriptJson());
