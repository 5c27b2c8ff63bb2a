// docs/patch.md against the playground: the page's task file run on a repository with context and a variable, the
// breadcrumb carried into the commit message; the page's second run, whose model writes .env too, needs a model.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pageBlock, type Walk, type WalkContext } from "../doc-walk.ts";
import { gitSync } from "../temp-git-repo.ts";

const DOC = "docs/patch.md";

/** The page's folder: task.md (the page's own), repo (a git repository) and context (a note the task names). */
function taskFolder(context: WalkContext): void {
  const dir = join(context.home, "demo");
  mkdirSync(join(dir, "repo"), { recursive: true, mode: 0o755 });
  mkdirSync(join(dir, "context"), { mode: 0o755 });
  writeFileSync(join(dir, "task.md"), pageBlock(DOC, /^````\n([\s\S]*?)^````$/gm, "prompt:"));
  writeFileSync(join(dir, "context", "notes.md"), "The README is the project's front page.\n");
  writeFileSync(join(dir, "repo", "README.md"), "# demo\n\nHello.\n");
  writeFileSync(join(dir, "repo", "Makefile"), "test:\n\t@echo demo tests pass\n");
  gitSync(join(dir, "repo"), ["init", "--quiet", "--initial-branch=main"]);
  gitSync(join(dir, "repo"), ["add", "-A"]);
  gitSync(join(dir, "repo"), ["commit", "--quiet", "-m", "demo"]);
  context.cwd = dir;
}

export const patchWalk: Walk = {
  name: "patch",
  setup: (context) => {
    taskFolder(context);
    context.aliases.set("http://127.0.0.1:11434", context.playground.url);
  },
  steps: [
    { doc: DOC, command: "export LLM_BASE_URL=http://127.0.0.1:11434 LLM_MODEL=scripted" },
    {
      doc: DOC,
      command: "TRACKING_BREADCRUMB=JIRA-42 org patch --task task.md --repo repo --context context --var WHO=world > out.txt",
      also: [{ doc: "README.md", command: "org patch" }],
      says: [
        /org patch: task task\.md; repository \S+\/repo; 1 output path\(s\); provider ollama/,
        /org patch: agent calls sh \{"cmd":"/,
        /"breadcrumb":"JIRA-42"/,
        /org patch: 1 file changed: added "NOTES\.md"/,
      ],
    },
    {
      doc: DOC,
      command: "cat out.txt",
      says: [
        /^---COMMIT_MSG---\ndocs: NOTES\.md on what is in the project and how its tests ran\n/,
        /\nTracking-Breadcrumb: JIRA-42\n---PATCH---\ndiff --git a\/NOTES\.md b\/NOTES\.md\n/,
        /^\+- README\.md opens with: # demo$/m,
      ],
    },
    {
      doc: DOC,
      command: "org patch --task task.md --repo repo > out.txt",
      before: (context) => {
        writeFileSync(join(context.cwd, "task.md"), '# Notes\n\n```yaml\nprompt: "Write notes on the project."\noutputs: [NOTES.md]\n```\n');
      },
      needsAModel:
        "its model writes .env beside the notes, and the change refused whole is repaired in a round; the playground writes NOTES.md alone",
      says: [/org patch: 1 file changed: added "NOTES\.md"/],
      saysNot: [/\.env/],
    },
  ],
};
