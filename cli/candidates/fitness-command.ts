import { announceUnconfirmed } from "../command/command-config.ts";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { CONFIG_FILE_NAME } from "../../config/workspace-paths.ts";
import { loadOrgConfig, type OrgConfig } from "../../config/org-config.ts";
import { OrgConfigError } from "../../config/org-config-error.ts";
import { environmentSettings, instanceSettings, processEnvironment } from "../../config/environment.ts";
import { fitnessLines, verdictLine } from "../../fitness/fitness-lines.ts";
import { GATE_DEFAULTS } from "../../fitness/gate-defaults.ts";
import { runFitness } from "../../fitness/run-fitness.ts";
import { dropBaseline } from "../../cycle/drop-baseline.ts";
import { sanitizeForTerminal } from "../../security/terminal-sanitizer.ts";
import { type Command, UsageError } from "../command/command.ts";
import { nameAndSummary } from "../command/command-summaries.ts";
import { missingOrgFiles } from "../command/org-checkout.ts";
import { orgOf } from "../command/org-invocation.ts";
import { parseCommandArgs } from "../command/parse-command-args.ts";
import { CHECKOUT_DIR } from "../../config/workspace-paths.ts";
import { sandboxAccessFrom } from "../../assembly/sandbox-policy-from.ts";
import { RepoGit } from "../../git/repo-git.ts";

const HELP =
  `Usage: org fitness [PORT] [--repo DIR] [--config FILE] [--allow-core] [--revalidate] [--runs N] ` +
  `[--margin-percent P] [--margin-ms M] [--tests-timeout-s N]
       org fitness --drop-baseline SCENARIO [--drop-baseline SCENARIO …] [--repo DIR]

The fitness gate. Reads the commit of the candidate instance on PORT (default ORG_CANDIDATE_PORT, else 7002)
from its /health and judges exactly that commit against main, cheapest stage first, stopping at the first
failure:
  protected-core  the diff from the merge base only adds or changes regular files (not executable, at most
                  256 KiB) under tools/generated/<tool>/ — anything else is refused, naming the files
  tools           each tool folder holds its three files, metadata hashes match, static policy; every tool's
                  tests in the sandbox (main's test file for tools main has; not again when this gate
                  recorded them passing with the same files and code); new or changed tools validated
                  again as the toolsmith does (coverage, mutants, every spec example, determinism),
                  unless this checkout's toolsmith signed a record that this code passed that very
                  validation of the same files, spec and settings
  tests           the candidate's tests that load generated tools, in a fresh worktree of the commit
  scenarios       fitness/scenarios/*.json of current's checkout sent to both instances (current on
                  ORG_CURRENT_PORT, else 7001): outcomes as expected, median time within the margin;
                  then each generated tool's spec examples through POST /v1/tools/<name>/run on both (main's
                  examples for main's tools; the candidate may not pass fewer), and every pass count against
                  .org/fitness/baseline.json: each promotion adds its counts, a rollback withdraws what the
                  promotion it undid set; a refusal names the promotion that set the count
A candidate built on an older main is judged as today's main plus its tool folders.
Nothing the candidate carries is trusted. Each run writes its own report, .org/fitness/<commit>/<UTC time>.json
of current's checkout, signed (HMAC-SHA256) with .org/fitness/gate.key (0600, made on first use): promote
accepts no other.

Options:
  --repo DIR             current's checkout (default: the checkout this org runs from)
  --config FILE          org.config.json whose "toolsmith" section sets the thresholds the tools stage applies
                         (default: org.config.json of current's checkout, else the defaults)
  --allow-core           let a reviewed change outside tools/generated/ pass the protected core (reported)
  --revalidate           validate new and changed tools and run every tool's tests even when a signed record
                         says this code passed them with the same files (.org/fitness/validated/, tool-tests/)
  --runs N               runs of each scenario on each instance (default 3; the median counts)
  --margin-percent P     how much slower than current a scenario may be, in percent (default 50) ...
  --margin-ms M          ... plus this many milliseconds (default 200)
  --tests-timeout-s N    time limit of the tests stage (default 300)
  --drop-baseline NAME   judge nothing: remove scenario NAME's count from the baseline (main no longer reaches it
                         and no rollback will bring it back), re-signed with that as the reason

Exit status: 0 pass; 1 fail; 2 could not judge (the reason is printed).`;

const FLAGS = {
  repo: { type: "string" },
  config: { type: "string" },
  "allow-core": { type: "boolean" },
  revalidate: { type: "boolean" },
  runs: { type: "string" },
  "margin-percent": { type: "string" },
  "margin-ms": { type: "string" },
  "tests-timeout-s": { type: "string" },
  "drop-baseline": { type: "string", multiple: true },
} as const;

/** `--drop-baseline`: a person's decision about main, made under the promotion lock so no promote or rollback moves the baseline meanwhile. */
async function dropCounts(git: RepoGit, names: readonly string[], log: (line: string) => void): Promise<number> {
  const { file, dropped, missing, baseline } = await dropBaseline(git, names);
  for (const { name, was, setBy } of dropped) log(`dropped ${name} from ${file} (it was ${was}, ${setBy})`);
  if (missing.length > 0) {
    const known = Object.keys(baseline?.scenarios ?? {});
    log(
      `${file} has no count named ${missing.map((name) => JSON.stringify(name)).join(", ")}; ` +
        `${known.length > 0 ? `it counts ${known.map((name) => JSON.stringify(name)).join(", ")}` : "it counts nothing"}`,
    );
    return 1;
  }
  log(`${Object.keys(baseline?.scenarios ?? {}).length} count(s) left, signed with the reason "${baseline?.reason}"`);
  return 0;
}

function numberFlag(name: string, value: string | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isFinite(number) || number < min) throw new UsageError(`--${name} needs a number of at least ${min}, got ${value}`, "fitness");
  return number;
}

/** Nothing answered on the candidate's port: how to start one for `repoDir`, or why nothing there can. */
function startCandidateHint(repoDir: string): string {
  const missing = missingOrgFiles(repoDir);
  if (missing.length > 0)
    return (
      `nothing can serve a candidate of ${repoDir}: it is not a checkout of org (it has no ` +
      `${missing.join(", ")}); --repo takes an org checkout, and without it the gate judges this checkout's candidates`
    );
  return `start the candidate first: ${orgOf(repoDir)} instance start candidate [BRANCH] (${orgOf(repoDir)} candidate list shows them)`;
}

export const fitnessCommand: Command = {
  ...nameAndSummary("fitness"),
  help: HELP,
  async run(args, signal) {
    const { values, positionals } = parseCommandArgs("fitness", args, FLAGS, { positionals: true });
    if (positionals.length > 1) throw new UsageError("fitness takes one port", "fitness");
    const instances = instanceSettings();
    const candidatePort = positionals[0] === undefined ? instances.candidatePort : numberFlag("port", positionals[0], 0, 1);
    if (!Number.isInteger(candidatePort) || candidatePort > 65_535) throw new UsageError(`${positionals[0]} is not a port`, "fitness");
    const git = new RepoGit(resolve(values.repo ?? CHECKOUT_DIR));
    const log = (line: string) => console.log(sanitizeForTerminal(line));
    const drop = values["drop-baseline"];
    if (drop !== undefined) {
      const other = Object.keys(values).find((flag) => flag !== "repo" && flag !== "drop-baseline");
      if (other !== undefined || positionals.length > 0)
        throw new UsageError(`--drop-baseline judges nothing; it goes with --repo alone, not ${other ? `--${other}` : positionals[0]}`, "fitness");
      return dropCounts(git, drop, log);
    }
    if (values.config !== undefined && !existsSync(values.config)) throw new UsageError(`no config file at ${values.config}`, "fitness");
    // The thresholds come from current's checkout (or --config), never from the directory the gate runs in.
    let config: OrgConfig;
    try {
      config = loadOrgConfig(values.config ?? join(git.repoDir, CONFIG_FILE_NAME), processEnvironment(), { checkoutDir: git.repoDir });
      announceUnconfirmed(config, git.repoDir);
    } catch (error) {
      if (!(error instanceof OrgConfigError)) throw error;
      log(verdictLine({ why: error.message }));
      return 2;
    }
    const outcome = await runFitness({
      settings: config.toolsmith,
      // The tools' tests and validation run under the policy of that config, its secrets too.
      ...sandboxAccessFrom({ config }),
      git,
      candidatePort,
      currentPort: instances.currentPort,
      allowCore: values["allow-core"] ?? false,
      revalidate: values.revalidate ?? false,
      bun: process.execPath,
      testsTimeoutMs: numberFlag("tests-timeout-s", values["tests-timeout-s"], GATE_DEFAULTS.testsTimeoutS, 1) * 1000,
      scenarios: {
        dir: join(git.repoDir, "fitness", "scenarios"),
        runs: Math.round(numberFlag("runs", values.runs, GATE_DEFAULTS.runs, 1)),
        marginRatio: numberFlag("margin-percent", values["margin-percent"], GATE_DEFAULTS.marginPercent, 0) / 100,
        marginMs: numberFlag("margin-ms", values["margin-ms"], GATE_DEFAULTS.marginMs, 0),
        token: environmentSettings().apiToken,
        timeoutMs: GATE_DEFAULTS.scenarioTimeoutMs,
      },
      // While it runs, on stderr: the verdict and table on stdout stay what a script reads.
      onProgress: (line) => process.stderr.write(`… ${sanitizeForTerminal(line)}\n`),
      signal,
    });
    for (const line of fitnessLines(outcome)) log(line);
    if (!outcome.report && outcome.why.startsWith("could not read the candidate's commit")) log(startCandidateHint(git.repoDir));
    return outcome.exitCode;
  },
};
