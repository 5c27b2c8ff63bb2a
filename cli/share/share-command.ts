import { resolve } from "node:path";
import { gitEnvironment } from "../../config/environment.ts";
import { ensureUserOrgDir, userOrgDir } from "../../config/user-org-dir.ts";
import { CHECKOUT_DIR } from "../../config/workspace-paths.ts";
import { RepoGit } from "../../git/repo-git.ts";
import type { ShareAccess } from "../../share/publish-offer.ts";
import { sanitizeForTerminal } from "../../security/terminal-sanitizer.ts";
import { terminalSafeJson } from "../../security/terminal-safe-json.ts";
import { type Command, UsageError } from "../command/command.ts";
import { nameAndSummary } from "../command/command-summaries.ts";
import { type FlagValues, parseCommandArgs } from "../command/parse-command-args.ts";
import { runSubcommand } from "../command/run-subcommand.ts";
import { alignColumns } from "../terminal/align-columns.ts";

const HELP = `Usage: org share remote [URL]
       org share signing-key [PATH]
       org share keys [--json]
       org share trust KEY [--name NAME]
       org share trust --remove NAME|FINGERPRINT
       org share publish TOOL [--machine NAME] [--repo DIR]
       org share pull [--repo DIR] [--workspace DIR] [--config FILE] [--no-restart] [--max-refs N] [--max-mib N] [--json]
       org share list [--json]
       org share promote ID [--repo DIR] [--no-restart]
       org share land ID --as NAME

Tools grown here offered to a team through a git remote, and the team's offers judged here before anything lands
(docs/share.md). What sharing keeps lives in your org folder (ORG_HOME, else ~/.config/org), never in a workspace.

  remote [URL]        the team's remote: any git URL your git can push to (a bare repository on a file share,
                      a forge); alone, shows it. Its credentials are your git's; org adds none.
  signing-key [PATH]  your SSH key that signs offers and recalls (else git's user.signingkey); alone, shows it.
                      None yet? ssh-keygen -t ed25519 -f ~/.ssh/org_share (org never makes one for you).
  keys                the keys whose offers this machine accepts (a git allowed_signers file in your org folder).
  trust KEY           accept offers signed by KEY: a public key line (ssh-ed25519 AAAA… name) or a .pub file;
                      kept under --name NAME, else the key's comment. --remove takes a name or SHA256 fingerprint.
  publish TOOL        offers a tool main has promoted (built here, not one a teammate's offer brought): a commit
                      of its files exactly as promoted and offer.json (their sha256, the passing report of the
                      gate that promoted it, who, when, --machine), signed with git's SSH signing and pushed to
                      refs/org/offers/TOOL/ID. A refused push is tried again under a fresh id (4 attempts).
  pull                fetches the remote's offers and recalls (bounded: --max-refs, default 1000; --max-mib,
                      default 64), refuses with the reason each one that is unsigned, forged, signed by a key you
                      do not trust, tampered with, or a replay; lands each trusted one as a cand/<UTC time>
                      branch and runs this machine's gate on it; promotes a pass only when the workspace's
                      share.autoPromote is on (confirmed with 'org config trust'). A recall rolls back a tool
                      promoted here from that offer. --json prints one line at the end: {remote, offers, recalls,
                      ignored}. 'org supervise' pulls so every share.pullEvery.
  list                every offer pulled here and its state: new, judging, passed, promoted, refused (why),
                      recalled. --json prints [{id, tool, state, reason, signer, fingerprint, branch, as, commit, at}].
  promote ID          merges the candidate of an offer the gate passed, as 'org promote' does.
  land ID --as NAME   an offer refused because its name is taken here lands under NAME at the next pull.

  --repo DIR          the checkout of main (default: the checkout this org runs from)
  --timeout-s N       how long one git call to the remote may take (default 60)

Examples:
  org share remote git@forge.example:team/org-tools.git
  org share signing-key ~/.ssh/org_share
  org share trust ~/keys/alice.pub
  org share publish word_count --machine alice-laptop
  org share pull
  org share list

Exit status: 0 done; 1 refused or the remote failed (the reason is printed); 2 wrong command line.`;

const FLAGS = {
  repo: { type: "string" },
  workspace: { type: "string" },
  config: { type: "string" },
  json: { type: "boolean" },
  name: { type: "string" },
  remove: { type: "boolean" },
  machine: { type: "string" },
  as: { type: "string" },
  "no-restart": { type: "boolean" },
  "max-refs": { type: "string" },
  "max-mib": { type: "string" },
  "timeout-s": { type: "string" },
} as const;
type ShareValues = FlagValues<typeof FLAGS>;

function print(line: string): void {
  console.log(sanitizeForTerminal(line));
}

function parse(action: string, args: string[], allowed: (keyof typeof FLAGS)[]): { values: ShareValues; positionals: string[] } {
  const parsed = parseCommandArgs(`share ${action}`, args, FLAGS, { positionals: true });
  for (const flag of Object.keys(parsed.values)) {
    if (flag !== "timeout-s" && !allowed.some((name) => name === flag)) throw new UsageError(`--${flag} does not go with 'share ${action}'`, "share");
  }
  return parsed;
}

function positiveNumber(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0) throw new UsageError(`${flag} needs a positive number, got '${value}'`, "share");
  return number;
}

/** The person's org folder (made 0700 when missing) as sharing uses it. */
function shareHome() {
  return { dir: ensureUserOrgDir(userOrgDir()) };
}

/** The checkout, the person's org folder and their git (its environment without what steers git elsewhere). */
function shareAccess(values: ShareValues, signal: AbortSignal): ShareAccess {
  const timeoutMs = positiveNumber(values["timeout-s"], "--timeout-s", 60) * 1000;
  return { git: new RepoGit(resolve(values.repo ?? CHECKOUT_DIR)), home: shareHome(), person: { env: gitEnvironment(), timeoutMs, signal } };
}

async function remote(args: string[]): Promise<number> {
  const { positionals } = parse("remote", args, []);
  const { checkRemoteUrl, readShareSettings, updateShareSettings } = await import("../../share/share-home.ts");
  if (positionals.length > 1) throw new UsageError("remote takes one URL", "share");
  const [url] = positionals;
  if (url === undefined) {
    const settings = readShareSettings(shareHome());
    print(settings.remote ?? "no share remote is set: name the team's with 'org share remote URL'");
    return settings.remote ? 0 : 1;
  }
  print(`share remote: ${updateShareSettings(shareHome(), { remote: checkRemoteUrl(url) }).remote}`);
  return 0;
}

async function signingKey(args: string[]): Promise<number> {
  const { positionals } = parse("signing-key", args, []);
  const { checkSigningKey, readShareSettings, updateShareSettings } = await import("../../share/share-home.ts");
  if (positionals.length > 1) throw new UsageError("signing-key takes one path", "share");
  const [path] = positionals;
  if (path === undefined) {
    const key = readShareSettings(shareHome()).signingKey;
    print(key ?? "no signing key is set here: offers are signed with git's user.signingkey, if it names one");
    return 0;
  }
  print(`signing key: ${updateShareSettings(shareHome(), { signingKey: checkSigningKey(path, process.cwd()) }).signingKey}`);
  return 0;
}

async function keys(args: string[]): Promise<number> {
  const { values, positionals } = parse("keys", args, ["json"]);
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`, "share");
  const { trustedKeys } = await import("../../share/share-home.ts");
  const listed = trustedKeys(shareHome());
  if (values.json) print(terminalSafeJson(listed.map(({ principal, type, fingerprint }) => ({ name: principal, type, fingerprint }))));
  else if (listed.length === 0) print("no trusted keys: accept a teammate's with 'org share trust KEY'");
  else print(alignColumns([["NAME", "TYPE", "FINGERPRINT"], ...listed.map((key) => [key.principal, key.type, key.fingerprint])]).join("\n"));
  return 0;
}

async function trust(args: string[]): Promise<number> {
  const { values, positionals } = parse("trust", args, ["name", "remove"]);
  const { parsePublicKey, trustKey, untrustKey } = await import("../../share/share-home.ts");
  if (values.remove) {
    if (positionals.length !== 1 || values.name !== undefined) throw new UsageError("trust --remove takes one name or fingerprint", "share");
    const gone = untrustKey(shareHome(), positionals[0] ?? "");
    print(gone ? `no longer trusted: ${gone.principal} (${gone.fingerprint})` : `no trusted key is named ${positionals[0]}: see 'org share keys'`);
    return gone ? 0 : 1;
  }
  // A key line comes as several words when not quoted.
  if (positionals.length === 0) throw new UsageError("give a public key line or a .pub file: org share trust ~/keys/alice.pub", "share");
  const key = parsePublicKey(positionals.join(" "), values.name, process.cwd());
  trustKey(shareHome(), key);
  print(`trusted ${key.principal} (${key.fingerprint}): its offers are judged here by 'org share pull'`);
  return 0;
}

async function publish(args: string[], signal: AbortSignal): Promise<number> {
  const { values, positionals } = parse("publish", args, ["machine", "repo"]);
  if (positionals.length !== 1) throw new UsageError("publish takes one tool name: org share publish word_count", "share");
  const { publishOffer } = await import("../../share/publish-offer.ts");
  const published = await publishOffer(shareAccess(values, signal), positionals[0] ?? "", values.machine ? { machine: values.machine } : {});
  print(`offered ${positionals[0]} as ${published.id} (${published.ref}, commit ${published.commit.slice(0, 12)}, signed)`);
  return 0;
}

async function pull(args: string[], signal: AbortSignal): Promise<number> {
  const { values, positionals } = parse("pull", args, ["repo", "workspace", "config", "no-restart", "max-refs", "max-mib", "json"]);
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`, "share");
  const bounds = {
    maxRefs: Math.floor(positiveNumber(values["max-refs"], "--max-refs", 1000)),
    maxBytes: Math.floor(positiveNumber(values["max-mib"], "--max-mib", 64) * 1024 * 1024),
  };
  const access = shareAccess(values, signal);
  const [
    { loadCommandConfig },
    { prepareWorkspace },
    { Sandbox },
    { sandboxPolicyFrom },
    { inProcessOfferJudge, pullAndLand },
    { refChangeContext, healthTimeoutMs },
  ] = await Promise.all([
    import("../command/command-config.ts"),
    import("../command/workspace-dir.ts"),
    import("../../sandbox/run-sandboxed.ts"),
    import("../../assembly/sandbox-policy-from.ts"),
    import("../../cycle/land-offers.ts"),
    import("../candidates/ref-change-context.ts"),
  ]);
  const workspaceDir = prepareWorkspace(values.workspace ?? process.cwd());
  const config = loadCommandConfig(values.config, workspaceDir);
  const judge = inProcessOfferJudge({ sandbox: new Sandbox(), sandboxPolicy: sandboxPolicyFrom({ config }), config, access, workspaceDir });
  const { context, restart } = refChangeContext({ ...values, repo: access.git.repoDir }, healthTimeoutMs(undefined, "share"), signal);
  const report = await pullAndLand({
    access,
    judge,
    autoPromote: config.share.autoPromote,
    rollbackContext: () => context,
    restart,
    bounds,
    onLine: values.json ? () => {} : print,
    signal,
  });
  if (values.json) {
    print(terminalSafeJson(report));
    return 0;
  }
  for (const recall of report.recalls) {
    const done = recall.rolledBack
      ? `rolled back here (${recall.rolledBack})`
      : recall.problem
        ? `NOT rolled back: ${recall.problem}`
        : "it had not been promoted here";
    print(`recalled ${recall.tool} (offer ${recall.offer}): ${recall.reason}; ${done}`);
  }
  for (const offer of report.offers) {
    const named = `${offer.tool}${offer.as ? ` as ${offer.as}` : ""} ${offer.id}${offer.signer ? ` by ${offer.signer}` : ""}`;
    print(`${offer.state} ${named}${offer.reason ? `: ${offer.reason}` : ""}`);
  }
  for (const line of report.ignored) print(`ignored ${line}`);
  if (report.offers.length === 0 && report.recalls.length === 0) print(`nothing new on ${report.remote}`);
  return 0;
}

async function list(args: string[]): Promise<number> {
  const { values, positionals } = parse("list", args, ["json"]);
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`, "share");
  const { readShareState } = await import("../../share/offer-state.ts");
  const offers = Object.values(readShareState(shareHome()).offers).sort((a, b) => a.id.localeCompare(b.id));
  if (values.json) {
    print(terminalSafeJson(offers));
    return 0;
  }
  if (offers.length === 0) {
    print("no offers pulled here yet: 'org share pull' fetches the team's");
    return 0;
  }
  const rows = offers.map((offer) => [
    offer.id,
    offer.as ? `${offer.tool}→${offer.as}` : offer.tool,
    offer.state,
    offer.signer ?? "-",
    offer.branch ?? "-",
    offer.reason ?? "",
  ]);
  print(alignColumns([["ID", "TOOL", "STATE", "SIGNER", "BRANCH", "WHY"], ...rows]).join("\n"));
  return 0;
}

async function promote(args: string[], signal: AbortSignal): Promise<number> {
  const { values, positionals } = parse("promote", args, ["repo", "no-restart"]);
  if (positionals.length !== 1) throw new UsageError("promote takes one offer id (org share list)", "share");
  const [{ promoteOffer }, { promoteLines, promoteSucceeded }, { refChangeContext, healthTimeoutMs }] = await Promise.all([
    import("../../cycle/land-offers.ts"),
    import("../../cycle/promote.ts"),
    import("../candidates/ref-change-context.ts"),
  ]);
  const access = shareAccess(values, signal);
  const { context, restart } = refChangeContext({ ...values, repo: access.git.repoDir }, healthTimeoutMs(undefined, "share"), signal);
  const { outcome } = await promoteOffer(access, positionals[0] ?? "", context, restart);
  for (const line of promoteLines(outcome)) print(line);
  return promoteSucceeded(outcome) ? 0 : 1;
}

async function land(args: string[], signal: AbortSignal): Promise<number> {
  const { values, positionals } = parse("land", args, ["as", "repo"]);
  if (positionals.length !== 1 || values.as === undefined) throw new UsageError("land takes one offer id and --as NAME", "share");
  const { renameOffer } = await import("../../cycle/land-offers.ts");
  const record = renameOffer(shareAccess(values, signal), positionals[0] ?? "", values.as);
  print(`offer ${record.id} of ${record.tool} lands as ${values.as} at the next 'org share pull'`);
  return 0;
}

export const shareCommand: Command = {
  ...nameAndSummary("share"),
  help: HELP,
  run: runSubcommand("share", { remote, "signing-key": signingKey, keys, trust, publish, pull, list, promote, land }, (word) =>
    word === undefined
      ? "say what to do: remote, signing-key, keys, trust, publish, pull, list, promote or land"
      : `unknown action '${word}': remote, signing-key, keys, trust, publish, pull, list, promote or land`,
  ),
};
