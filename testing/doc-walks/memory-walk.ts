// docs/memory.md on a project against the playground: two turns said in the room, found again by memory search, and
// found again after the database is removed, rebuilt from the transcripts.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { shellWord } from "../../security/shell-word.ts";
import { type Walk, type WalkContext, walkShell } from "../doc-walk.ts";

const DOC = "docs/memory.md";

/** The page's two turns, said in the room with `chat --once` as the page says. */
function twoTurns(context: WalkContext): void {
  const project = join(context.home, "project");
  mkdirSync(project, { recursive: true, mode: 0o755 });
  context.cwd = project;
  for (const text of ["@agent remember the staging port: staging runs on db-stage-2, port 6543", "@agent the staging database listens on port 6543"])
    walkShell(context, project, `org chat --once ${shellWord(text)}`);
}

export const memoryWalk: Walk = {
  name: "memory",
  setup: twoTurns,
  steps: [
    {
      doc: DOC,
      command: 'org memory search "staging port" --limit 3',
      says: [
        /^searched memory with full-text \(BM25\) \+ embeddings, fused by reciprocal rank$/m,
        /^ 1\. .*session \S+ +user \(message\)\n {4}@agent remember the staging port: staging runs on db-stage-2, port 6543$/m,
      ],
    },
    {
      doc: DOC,
      command: 'rm .org/memory/memory.sqlite; org memory search "listens 6543" --limit 1',
      says: [
        /memory: the memory database \S+memory\.sqlite was missing; rebuilt it from 2 transcripts \(\d+ records\)/,
        /^ 1\. .*user \(message\)\n {4}@agent the staging database listens on port 6543$/m,
      ],
    },
  ],
};
