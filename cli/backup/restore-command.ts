import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { processEnvironment } from "../../config/environment.ts";
import type { RestoredConfig } from "../../backup/restored-config.ts";
import { shellWord } from "../../security/shell-word.ts";
import { sanitizeForTerminal } from "../../security/terminal-sanitizer.ts";
import { terminalSafeJson } from "../../security/terminal-safe-json.ts";
import { type Command, UsageError } from "../command/command.ts";
import { nameAndSummary } from "../command/command-summaries.ts";
import { orgInvocation } from "../command/org-invocation.ts";
import { parseCommandArgs } from "../command/parse-command-args.ts";
import { counted } from "../../config/counted.ts";

const HELP =
  `Usage: org restore FILE --to DIR [--json] [--allow-large]

Rebuilds what a backup (org backup) holds in DIR, which must be new or empty: nothing is overwritten, and nothing is
written outside DIR, whatever the backup's entries are named (a name with '..', an absolute path, a link, a device
or a name listed twice, a file's or a folder's, is refused before anything is written).

First the whole backup is checked as 'org backup verify' checks it: a file cut short or altered fails here, naming the
entry, and DIR stays as it was. Then:
  - the checkout: a git repository with every ref of the bundle (main, cand/*, promote/*, rollback/* tags, notes), main
    checked out and clean, as promote and rollback need it;
  - the .org/ state of the checkout and of the workspace (sessions, changes, conflicts, grow and its cursor, fitness
    reports, the signed baseline and its key, MCP trust, memory, the supervisor's state), in DIR when the workspace
    was the checkout, else in DIR/checkout and DIR/workspace.
org grow's cursor is moved onto the restored transcripts, so the next run reads on from where the backup left off.
The workspace's org.config.json is put back as it was; restored into the checkout's own folder where main does not
track it, a line of the checkout's .git/info/exclude keeps it out of git status, so the checkout is clean. ` +
  `Its settings that send something out or lower a guard (a
model server, an apiKeyEnv, "allow" policies, the write view, web_fetch's hosts, a webhook, …) are not confirmed for
DIR: as with any repository's, they wait for 'org config trust' there, and the output lists them.
The MCP servers the workspace had confirmed are confirmed in DIR too, but only those your own org sealed with your
key (kept in your org folder, never in a backup: a confirmation a backup made elsewhere or altered is not believed),
each for exactly the launch org.config.json gives it there and only when every file it runs from is as it was
confirmed (their bytes hashed again); any other stays off, and the output says so with the 'org mcp trust NAME' that
confirms it.
What it writes is bounded: the manifest's sizes (and main's files, before checkout) against the free space in DIR, less
64 MiB kept free, before anything is written; a backup that holds more is stopped as it is read, and an entry larger
than its manifest says is refused before a byte of it is written. So is a backup whose entries declare more than 200
times the file's own size (and over 16 MiB): gzip makes that of zeros, no backup org takes comes near it, and a 1 MiB
file declaring 1 GiB was made to fill the disk; --allow-large restores one you trust. main is checked out as it is:
refs/replace/ refs are left out (and said), and a main whose tree holds .org (where the state goes) is refused.
A restore writes a record in DIR/.org/ before anything else, naming each entry of DIR it makes before it makes it. A
rerun after one was killed clears exactly those, and says so; anything else in DIR (a folder merely named like a
restore's) refuses the rerun, naming it, and nothing is removed.
The checkout has no node_modules: run 'npm ci' in it before running org from it.

Options:
  --to DIR       the new or empty folder to restore into (required)
  --allow-large  restore a backup whose entries declare more than 200 times its size (above)
  --json         one JSON object on stdout: { checkout, workspace, main, refs, files, takenAt, cursorMarks,
                 mcp: { rebound, untrusted }, config: { restored, waiting: [setting], excluded } } (why a server
                 stays off goes to stderr)

Example:
  org restore .org/backups/org-backup-20261123T101500Z.tar.gz --to ~/org-restored
  org doctor --repo ~/org-restored --workspace ~/org-restored

Exit status: 0 restored; 1 the backup does not verify, DIR is not empty, or the restore failed (what it wrote is
removed); 2 wrong command line.`;

/** What the restore did with org.config.json, and what of it waits for `org config trust` in the restored workspace. */
function configLines(config: RestoredConfig, workspaceDir: string): string[] {
  if (!config.restored) return [];
  const trust = `'org config trust --workspace ${shellWord(workspaceDir)}'`;
  const excluded = config.excluded
    ? ["  org.config.json: main does not track it, so .git/info/exclude keeps it out of git status (the checkout stays clean)"]
    : [];
  if (config.problem !== undefined)
    return [`  org.config.json: put back, but it does not read (${config.problem}); fix it, then run ${trust}`, ...excluded];
  if (config.waiting.length === 0) return ["  org.config.json: put back as it was", ...excluded];
  return [
    `  org.config.json: put back; like any repository's, its ${config.waiting.length} setting(s) that send ` +
      `something out or lower a guard wait for ${trust}: ${config.waiting.map((setting) => `${setting.setting} (${setting.shown})`).join(", ")}`,
    ...excluded,
  ];
}

/** `org restore FILE --to DIR`. */
export const restoreCommand: Command = {
  ...nameAndSummary("restore"),
  help: HELP,
  async run(args, signal) {
    const { values, positionals } = parseCommandArgs(
      "restore",
      args,
      { to: { type: "string" }, json: { type: "boolean" }, "allow-large": { type: "boolean" } },
      { positionals: true },
    );
    const [file, ...more] = positionals;
    if (file === undefined || more.length > 0) throw new UsageError("restore takes one backup file: org restore FILE --to DIR", "restore");
    if (values.to === undefined) throw new UsageError("restore needs --to DIR: a new or empty folder to restore into", "restore");
    const { restoreBackup } = await import("../../backup/restore-backup.ts");
    const outcome = await restoreBackup({
      file: resolve(file),
      to: resolve(values.to),
      onProgress: (line) => process.stderr.write(`${sanitizeForTerminal(line)}\n`),
      signal,
      env: processEnvironment(),
      allowLarge: values["allow-large"] === true,
    });
    if (values.json) {
      for (const line of [...outcome.grants.said, ...outcome.mcpTrust.said]) process.stderr.write(`${sanitizeForTerminal(line)}\n`);
      console.log(
        terminalSafeJson({
          checkout: outcome.checkoutDir,
          workspace: outcome.workspaceDir,
          main: outcome.main,
          refs: outcome.refs,
          files: outcome.files,
          takenAt: outcome.manifest.takenAt,
          cursorMarks: outcome.cursorMarks,
          mcp: { rebound: outcome.mcpTrust.rebound, untrusted: outcome.mcpTrust.untrusted },
          config: {
            restored: outcome.config.restored,
            waiting: outcome.config.waiting.map((setting) => setting.setting),
            excluded: outcome.config.excluded === true,
          },
        }),
      );
      return 0;
    }
    const org = orgInvocation();
    const lines = [
      `restored ${outcome.manifest.takenAt}'s backup into ${resolve(values.to)}:`,
      `  checkout:  ${outcome.checkoutDir} (main ${outcome.main.slice(0, 12)}, ${outcome.refs} refs)`,
      `  workspace: ${outcome.workspaceDir} (${counted(outcome.files, "state file")}${
        outcome.cursorMarks > 0 ? `; org ` + `grow reads on from its cursor, ${counted(outcome.cursorMarks, "file")}` : ""
      })`,
      ...(outcome.manifest.journal && outcome.grants.journalKept
        ? [
            `  an interrupted ${outcome.manifest.journal.op} (${outcome.manifest.journal.tag}) was in the ` +
              `journal: the next promote or rollback finishes it`,
          ]
        : []),
      ...outcome.grants.said.map((line) => `  ${line}`),
      ...configLines(outcome.config, outcome.workspaceDir),
      ...(outcome.mcpTrust.rebound.length > 0
        ? [`  MCP servers confirmed as in the backup (the same launch, the files they run unchanged): ${outcome.mcpTrust.rebound.join(", ")}`]
        : []),
      ...outcome.mcpTrust.said.map((line) => `  ${line}`),
      ...(existsSync(join(outcome.checkoutDir, "package.json"))
        ? [`  next: npm ci in ${outcome.checkoutDir}, then ${org} doctor --repo ${outcome.checkoutDir} --workspace ${outcome.workspaceDir}`]
        : []),
    ];
    for (const line of lines) console.log(sanitizeForTerminal(line));
    return 0;
  },
};
