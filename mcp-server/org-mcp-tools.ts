import { RepoGit } from "../git/repo-git.ts";
import type { SandboxAccess } from "../sandbox/run-sandboxed.ts";
import { entriesAtCommit, type McpToolEntry, promotedEntries, uniqueEntries, workflowEntries } from "./mcp-tool-catalog.ts";
import { McpToolSet } from "./mcp-tool-set.ts";
import { branchRef } from "../git/ref-names.ts";

/** The tools `org mcp` offers, and the sandbox and policy every one of them runs under. */
export type OrgMcpToolsOptions = SandboxAccess & {
  /** The checkout whose promoted tools (`tools/generated/`) are offered. */
  repoDir: string;
  /** Whose `workflows/*.json` are offered, and where tool runs keep their scratch. */
  workspaceDir: string;
  /** main or a cand/… branch: its tools too, read through git at the branch's commit (they win over promoted ones of the same name). */
  ref?: string;
  /** Told once about each tool that is not offered, with the reason. */
  log: (line: string) => void;
};

/** The tools `org mcp` offers: a ref's tools, the checkout's promoted tools, the workspace's workflows, one per name. */
export function orgMcpTools(options: OrgMcpToolsOptions): McpToolSet {
  const told = new Set<string>();
  const onSkip = (name: string, problem: string) => {
    const line = `not offered: ${name}: ${problem}`;
    if (told.has(line)) return;
    told.add(line);
    options.log(line);
  };
  const git = options.ref ? new RepoGit(options.repoDir) : undefined;
  const access = { sandbox: options.sandbox, sandboxPolicy: options.sandboxPolicy };
  return new McpToolSet(async () => {
    const fromRef: McpToolEntry[] = [];
    if (git && options.ref) {
      const commit = await git.resolveCommit(branchRef(options.ref));
      if (commit) fromRef.push(...(await entriesAtCommit(git, commit, options.ref, access, onSkip)));
      else onSkip(options.ref, "no such branch (any more); its tools are not offered");
    }
    return uniqueEntries(
      [...fromRef, ...promotedEntries(options.repoDir, access, onSkip), ...workflowEntries(options.workspaceDir, [options.repoDir], access, onSkip)],
      (name, problem) => {
        // A ref's tool hiding the promoted one of the same name is the point of --ref.
        if (!(fromRef.some((entry) => entry.name === name) && problem.startsWith("a generated"))) onSkip(name, problem);
      },
    );
  });
}
