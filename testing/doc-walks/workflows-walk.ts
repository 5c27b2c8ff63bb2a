// docs/workflows.md on a project against the playground, split_lines and word_count promoted into org's clone: the
// page's workflow file run and refused, and the planner naming a job no tool does, then planning, checking and running
// one the tools do.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pageJson, promoteFixtures, type Walk, type WalkContext } from "../doc-walk.ts";
import { SPLIT_LINES, WORD_COUNT } from "../toolsmith-fixtures.ts";

const DOC = "docs/workflows.md";
const project = (context: WalkContext) => join(context.home, "project");

export const workflowsWalk: Walk = {
  name: "workflows",
  setup: (context) => {
    promoteFixtures(context, [SPLIT_LINES, WORD_COUNT]);
    mkdirSync(join(project(context), "workflows"), { recursive: true, mode: 0o755 });
    writeFileSync(join(project(context), "workflows", "words-per-line.json"), pageJson(DOC, '"name": "words per line"'));
    context.cwd = project(context);
  },
  steps: [
    {
      doc: DOC,
      command: `org workflow run workflows/words-per-line.json --inputs '{"text":"one two\\nthree four five"}' --json`,
      says: [/^\{"lines":\["one two","three four five"\],"per_line":\[\{"words":2\},\{"words":3\}\],"summary":"three four five is line 2"\}$/m],
    },
    {
      doc: DOC,
      command: `org workflow run workflows/words-per-line.json --inputs '{"words":"one two"}' --json`,
      exit: 1,
      says: [/words-per-line\.json/, /text/],
    },
    {
      doc: DOC,
      command: `org workflow plan --goal "count the words on each line, and shout the text" --inputs '{"text":"one two\\nthree"}' --run`,
      exit: 1,
      says: [/plan 1: missing/, /the goal needs 1 tool\(s\) nobody has: shout: shout the text/, /shout: filed as grow proposal p[0-9a-f]{10}/],
    },
    {
      doc: DOC,
      command: `org workflow plan --goal "count the words on each line of a text" --inputs '{"text":"one two\\nthree"}' --run`,
      says: [
        /plan 1: accepted/,
        /› split \d+ ms/,
        /› word_count \(2 items\) \d+ ms/,
        /"word_count": \[\s*\{\s*"words": 2\s*\},\s*\{\s*"words": 1\s*\}\s*\]/,
      ],
    },
  ],
};
