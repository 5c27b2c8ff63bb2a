// `org grow show ID`, `org grow accept ID` and `org grow reject ID`: one proposal read whole, or a person's word on it
// (build it though no person's words asked for it; never build it). The word is kept under the grow lock.
import { evidenceText, sourcesText } from "../../grow/grow-report.ts";
import type { Proposal } from "../../grow/proposal.ts";
import { sanitizeForTerminal, oneLine } from "../../security/terminal-sanitizer.ts";
import { terminalSafeJson } from "../../security/terminal-safe-json.ts";
import { loadCommandConfig } from "../command/command-config.ts";
import { UsageError } from "../command/command.ts";
import { parseCommandArgs } from "../command/parse-command-args.ts";
import { prepareWorkspace } from "../command/workspace-dir.ts";
import { OrgError } from "../../errors/org-error.ts";

/** The one proposal id of `args`, or a usage error that says how to find one. */
function oneId(positionals: string[], verb: string): string {
  const [id, ...more] = positionals;
  if (id === undefined || more.length > 0)
    throw new UsageError(`grow ${verb} takes one proposal id, e.g. org grow ${verb} p3f9a2c1b04e ('org grow proposals' lists them)`, "grow");
  return id;
}

const missing = (id: string, workspaceDir: string) =>
  new OrgError(`no proposal ${oneLine(id, 40)} in ${workspaceDir}; 'org grow proposals' lists them`);

/** The lines of `org grow show`: every field a person may want, then each piece of evidence with whose words it is. */
function showLines(proposal: Proposal, why: string): string[] {
  const signals = Object.entries(proposal.signals).map(([signal, count]) => `${signal} ${count}`);
  const lines = [
    `${proposal.id}  ${proposal.state}  (${proposal.kind})`,
    `goal: ${proposal.goal}`,
    `seen: ${proposal.count}× in ${proposal.sessions} session(s), first ${proposal.firstSeen}, last ${proposal.lastSeen}`,
    `sources: ${sourcesText(proposal.sources) || "not recorded"}; signals: ${signals.join(", ")}`,
    `why: ${why}`,
  ];
  const facts: [string, string | number | undefined][] = [
    ["tool", proposal.tool],
    ["covered by", proposal.coveredBy],
    ["candidate", proposal.candidate],
    [
      "team's offer",
      proposal.offer && `${proposal.offer.id} of ${proposal.offer.tool}, signed by ${proposal.offer.signer} (${proposal.offer.fingerprint})`,
    ],
    ["to take it", proposal.offer?.run],
    ["branch", proposal.branch],
    ["commit", proposal.commit],
    ["fitness report", proposal.reportPath],
    ["promotion", proposal.promotion],
    ["failure", proposal.failure],
    ["superseded by", proposal.supersededBy],
    ["accepted by a person", proposal.accepted ? "yes" : undefined],
    ["builds tried", proposal.attempts > 0 ? proposal.attempts : undefined],
  ];
  for (const [label, value] of facts) if (value !== undefined) lines.push(`${label}: ${value}`);
  for (const failing of proposal.failingInputs ?? [])
    lines.push(`failing input (data): ${failing.input}${failing.error ? ` → ${failing.error}` : ""}`);
  lines.push(`evidence (${proposal.evidence.length} newest of ${proposal.count}):`);
  for (const evidence of proposal.evidence) lines.push(`  ${evidenceText(evidence)}`);
  return lines;
}

/** `org grow show ID [--json]`: one proposal whole. */
export async function growShow(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    "grow show",
    args,
    { json: { type: "boolean" }, workspace: { type: "string" } },
    { positionals: true },
  );
  const id = oneId(positionals, "show");
  const workspaceDir = prepareWorkspace(values.workspace ?? process.cwd());
  const config = loadCommandConfig(undefined, workspaceDir);
  const [{ readGrowState }, { proposalWhy }, { generatedToolNames }] = await Promise.all([
    import("../../grow/grow-state.ts"),
    import("../../grow/proposal-why.ts"),
    import("../../config/tool-names.ts"),
  ]);
  const proposal = readGrowState(workspaceDir).proposals.find((entry) => entry.id === id);
  if (!proposal) throw missing(id, workspaceDir);
  if (values.json) {
    console.log(terminalSafeJson(proposal));
    return 0;
  }
  const why = proposalWhy(proposal, {
    confirmSessions: config.grow.confirmSessions,
    maxTools: config.grow.maxTools,
    onMain: new Set(generatedToolNames([workspaceDir])),
  });
  for (const line of showLines(proposal, why)) console.log(sanitizeForTerminal(line));
  return 0;
}

/** A person's word on one proposal (`grow/proposal-decision.ts`), printed. */
async function decide(verb: "accept" | "reject", args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(`grow ${verb}`, args, { workspace: { type: "string" } }, { positionals: true });
  const id = oneId(positionals, verb);
  const workspaceDir = prepareWorkspace(values.workspace ?? process.cwd());
  const { decideProposal } = await import("../../grow/proposal-decision.ts");
  console.log(sanitizeForTerminal(decideProposal(workspaceDir, id, verb, "org grow")));
  return 0;
}

/** `org grow accept ID`: build it though no person's words asked for it (an unconfirmed, rejected or failed proposal). */
export function growAccept(args: string[]): Promise<number> {
  return decide("accept", args);
}

/** `org grow reject ID`: never build it (new evidence still counts). */
export function growReject(args: string[]): Promise<number> {
  return decide("reject", args);
}
