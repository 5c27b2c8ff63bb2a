import { UsageError } from "./command/command.ts";
import { startedIsolated } from "../config/org-bun-command.ts";
import type { CommandEntry } from "./command-table.ts";
import { helpOrVersion } from "./quick-answer.ts";
import { OrgError } from "../errors/org-error.ts";

// What main.ts runs, through one of its entries (cli/org-main.ts, cli/sandbox-main.ts): from these files, or from the
// prebuilt bundle of that entry (cli/build/prebuilt-bundle.ts). The errors thrown here are reported by `failureReport`
// of the same code, whose classes they are instances of.

/** Runs the command `argv` names among `commands` (the first is the default); its exit code. */
export async function runOrg(argv: string[], commands: readonly CommandEntry[]): Promise<number> {
  if (!(await startedIsolated())) {
    const { LAUNCHER } = await import("./command/org-invocation.ts");
    throw new OrgError(
      `started as 'bun main.ts' in ${process.cwd()}, so bun may have read that directory's .env and ` +
        `bunfig.toml, which org never takes settings from. Start org with ${LAUNCHER} (or 'org' after 'npm link' in the checkout).`,
    );
  }
  const answer = helpOrVersion(argv);
  if (answer !== undefined) {
    console.log(answer);
    return 0;
  }
  const [first, ...rest] = argv;
  if (first === "help") {
    const topic = commands.find((command) => command.name === rest[0]);
    if (!topic) throw new UsageError(`no command '${rest[0]}'. Commands: ${commands.map((c) => c.name).join(", ")}`);
    console.log((await topic.load()).help);
    return 0;
  }
  const explicit = commands.find((command) => command.name === first);
  const entry = explicit ?? (first === undefined || first.startsWith("-") ? commands[0] : undefined);
  if (!entry) throw new UsageError(`unknown command '${first}'. Commands: ${commands.map((c) => c.name).join(", ")}`);
  const args = explicit ? rest : argv;
  // Flags after `--` belong to the command being wrapped (e.g. `sandbox run -- grep --help`).
  const ownArgs = args.includes("--") ? args.slice(0, args.indexOf("--")) : args;
  const command = await entry.load();
  if (ownArgs.includes("--help") || ownArgs.includes("-h")) {
    console.log(command.help);
    return 0;
  }
  // A mistyped setting is reported before anything runs, not halfway through a session (help still shows).
  (await import("../config/environment.ts")).environmentSettings();
  const controller = new AbortController();
  // SIGINT and SIGTERM cancel the command: its sandboxes are killed and its folders and worktrees removed on the
  // way out. Should that take past STOP_GRACE_MS, or a second signal come, org exits anyway (bwrap dies with it).
  // Commands that change the checkout or an instance (promote, rollback, instance) keep their own pace: SIGTERM
  // cancels them and they wind down through their journal; SIGINT kills them as it always did.
  const hardStop = !WINDS_DOWN.has(command.name);
  const onSignal = (name: NodeJS.Signals) => {
    const code = 128 + (name === "SIGINT" ? 2 : 15);
    if (controller.signal.aborted && hardStop) process.exit(code);
    controller.abort(new OrgError(`stopped by ${name}`));
    if (hardStop) setTimeout(() => process.exit(code), STOP_GRACE_MS).unref();
  };
  const signals = hardStop ? (["SIGTERM", "SIGINT"] as const) : (["SIGTERM"] as const);
  for (const name of signals) process.on(name, onSignal);
  try {
    return await command.run(args, controller.signal);
  } finally {
    for (const name of signals) process.off(name, onSignal);
  }
}

const STOP_GRACE_MS = 1_500;
const WINDS_DOWN = new Set(["promote", "rollback", "instance"]);

/** What is printed for an error `main` threw, and the exit code. What reports a failure loads only for one: `org --help`
 * is a dozen modules, and these were half of them. Messages quote configs, servers and models: they pass the terminal
 * sanitizer like everything else. */
export async function failureReport(error: unknown): Promise<{ text: string; exitCode: number }> {
  const [{ reportFailure }, { sanitizeForTerminal }] = await Promise.all([
    import("./command/report-failure.ts"),
    import("../security/terminal-sanitizer.ts"),
  ]);
  const failure = reportFailure(error);
  return { text: sanitizeForTerminal(failure.text), exitCode: failure.exitCode };
}
