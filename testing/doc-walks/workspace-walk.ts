// docs/workspace.md on a project against the playground: the committed .env asked for (a model's session; the secret
// never shows), the write view's notes approved and undone in the room, then org undo: the list, a refusal over your
// edit, --force, and a repository that shipped a journal of its own.
import { cpSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Walk, type WalkContext, walkShell } from "../doc-walk.ts";
import { gitSync } from "../temp-git-repo.ts";

const DOC = "docs/workspace.md";
const project = (context: WalkContext) => join(context.home, "project");
const SECRET = "hunter2-dbpass-7f3a9c";

/** A git project whose history holds a .env, and the write view on. */
function makeProject(context: WalkContext): void {
  const dir = project(context);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  writeFileSync(join(dir, "README.md"), "# Sum\n\nAdds numbers.\n");
  writeFileSync(join(dir, ".env"), `DB_PASSWORD=${SECRET}\nNODE_ENV=production\n`);
  writeFileSync(join(dir, "Makefile"), "test:\n\t@echo sums fine\n");
  gitSync(dir, ["init", "--quiet", "--initial-branch=main"]);
  gitSync(dir, ["add", "-A"]);
  gitSync(dir, ["commit", "--quiet", "-m", "sum, with its .env"]);
  writeFileSync(join(dir, "org.config.json"), `${JSON.stringify({ sandbox: { workspace: "write" } }, null, 2)}\n`);
  context.cwd = dir;
  // The person's word on the write view, as the page's project had it.
  walkShell(context, dir, "org config trust");
}

export const workspaceWalk: Walk = {
  name: "workspace",
  setup: makeProject,
  steps: [
    {
      doc: DOC,
      command: 'org chat --once "@agent show me the committed .env, reversed"',
      needsAModel: "its model runs git show HEAD:.env | rev; the playground's agent says what it answers, and nothing of the secret shows",
      says: [/I am the playground's scripted agent, not a model/],
      saysNot: [new RegExp(SECRET), new RegExp([...SECRET].reverse().join(""))],
    },
    {
      doc: DOC,
      command: "org chat",
      typed: ["@agent write notes", "y", "/undo", "@agent write notes", "y"],
      says: [
        /agent wants to run workspace_write \{"files":\["NOTES\.md"\],"added":\d+,"removed":0\}/,
        /· ✎ agent's change was applied \(1 file \(\+\d+ −0\)\); \/undo takes it back/,
        /group › \/undo\n· ↶ undid agent's change \S+ \(1 file\); that turn is out of the models' context\nundid change \S+: 1 file restored/,
      ],
    },
    {
      doc: DOC,
      command: "org undo --list",
      says: [/^\S+ +applied +agent +\+\d+ −0 +added "NOTES\.md"\n\S+ +undone +agent +\+\d+ −0 +added "NOTES\.md"$/m],
    },
    {
      doc: DOC,
      command: "echo mine >> NOTES.md; org undo",
      exit: 1,
      says: [
        new RegExp(
          String.raw`org: the undo of change \S+ was not applied: this file was changed in the workspace meanwhile: "NOTES\.md"\. N` +
            String.raw`othing was written; both versions are kept\.`,
        ),
      ],
    },
    { doc: DOC, command: "org undo --force", says: [/^undid change \S+: 1 file restored$/m] },
    {
      doc: DOC,
      command: "org undo",
      // A repository that shipped its journal: this project's records, copied into another as a clone would bring them.
      before: (context) => {
        const shipped = join(context.home, "shipped");
        mkdirSync(join(shipped, ".org"), { recursive: true, mode: 0o700 });
        cpSync(join(project(context), ".org", "changes"), join(shipped, ".org", "changes"), { recursive: true });
        writeFileSync(join(shipped, "README.md"), "# shipped\n");
      },
      cwd: (context) => join(context.home, "shipped"),
      exit: 1,
      says: [
        /org: 2 record\(s\) under \.org\/changes\/ are ignored: not made in this workspace's \.org \(a clone's or an archive's\) or unreadable/,
        /org: there is no applied change to undo \(org undo --list shows what was recorded\)/,
      ],
    },
  ],
};
