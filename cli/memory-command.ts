import { loadCommandConfig } from "./command/command-config.ts";
import { MemoryStore } from "../memory/memory-store.ts";
import { embedderFromEnvironment } from "../registry/ollama-embedder.ts";
import { type Command, UsageError } from "./command/command.ts";
import { nameAndSummary } from "./command/command-summaries.ts";
import { parseCommandArgs } from "./command/parse-command-args.ts";
import { runSubcommand } from "./command/run-subcommand.ts";
import { formatMemoryOutcome, terminalLine } from "./terminal/format-memory-outcome.ts";
import { terminalSafeJson } from "../security/terminal-safe-json.ts";
import { prepareWorkspace } from "./command/workspace-dir.ts";
import { processEnvironment } from "../config/environment.ts";
import { memoryProfile } from "./memory-profile.ts";

const HELP = `Usage: org memory <search|forget|rebuild|profile> [options]

The workspace's memory (.org/memory/): every message, tool call and short tool result of its sessions,
redacted as the transcripts hold them, and the facts personas saved with memory_save. The database is an
index: deleted or damaged, it is rebuilt from .org/sessions/*.jsonl and .org/memory/facts.jsonl.

  search "QUERY" [--limit N] [--json]
        Ranked records, best first, with session id (or fact id) and time. Any text is a query. BM25,
        blended with embeddings when ORG_EMBED_BASE (default OLLAMA_BASE) answers /api/embed for
        ORG_EMBED_MODEL (default nomic-embed-text; 'off' for full text alone). --limit 1–100 (default 10).
        A query starting with '-' goes after '--': org memory search -- "-flag".
  forget --session ID | --fact ID
        Takes a session's records (and the facts saved in it), or one fact, out of memory for good: the
        text leaves every file under .org/memory/ (facts.jsonl is rewritten, the database overwritten and
        vacuumed), and a rebuild leaves them out. The transcript itself stays.
  rebuild
        Throws the index away and builds it again from the transcripts and facts.jsonl.
  profile [--rebuild] [--edit]
        What org learned about you (.org/memory/profile.md): the facts the observer proposed from your own words
        and you accepted (/facts in the room), as org supervise's weekly digest wrote them, most confirmed first,
        within observer.profileChars; every persona's prompt carries it. --rebuild writes it now; --edit opens
        $EDITOR on it: lines under "## Your notes" are yours and kept. 'forget --fact ID' takes a line out.

Options:
  --workspace DIR    the workspace whose memory it is (default: current directory)

In the room, /recall QUERY searches the same memory; /facts lists what the observer proposes about you.

Examples:
  org memory search "staging database port"
  org memory search "deploy" --json --limit 3
  org memory forget --session 20261123-171502-a1b2c3`;

async function search(store: MemoryStore, args: string[], signal: AbortSignal): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    "memory search",
    args,
    { limit: { type: "string" }, json: { type: "boolean" }, workspace: { type: "string" } },
    { positionals: true },
  );
  const [query] = positionals;
  if (positionals.length !== 1 || query === undefined)
    throw new UsageError(`memory search takes one QUERY in quotes, e.g. memory search "deploy day"`, "memory");
  const limit = values.limit === undefined ? 10 : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100)
    throw new UsageError(`--limit needs a whole number from 1 to 100, got ${values.limit}`, "memory");
  const embedder = embedderFromEnvironment();
  const outcome = await store.search(query, { limit, signal, ...(embedder ? { embedder } : {}) });
  if (values.json) {
    const { hits, ...rest } = outcome;
    console.log(terminalSafeJson({ ...rest, results: hits }));
  } else console.log(formatMemoryOutcome(outcome));
  return 0;
}

function forget(store: MemoryStore, args: string[]): number {
  const { values } = parseCommandArgs("memory forget", args, {
    session: { type: "string" },
    fact: { type: "string" },
    workspace: { type: "string" },
  });
  const { session, fact } = values;
  if (session !== undefined && fact === undefined) {
    const count = store.forgetSession(session);
    console.log(`forgot session ${terminalLine(session, 128)}: ${count} record${count === 1 ? "" : "s"} out of memory (its transcript stays)`);
    return 0;
  }
  if (fact !== undefined && session === undefined) {
    store.forgetFact(fact);
    console.log(`forgot fact ${terminalLine(fact, 128)}`);
    return 0;
  }
  throw new UsageError("memory forget takes --session ID or --fact ID (one of them)", "memory");
}

function rebuild(store: MemoryStore, args: string[]): number {
  parseCommandArgs("memory rebuild", args, { workspace: { type: "string" } });
  const summary = store.rebuild();
  const damaged = summary.damagedLines > 0 ? `; ${summary.damagedLines} damaged line${summary.damagedLines === 1 ? "" : "s"} skipped` : "";
  console.log(
    `rebuilt memory from ${summary.sessions} transcript${summary.sessions === 1 ? "" : "s"} ` +
      `(${summary.entries} records) and ${summary.facts} saved fact${summary.facts === 1 ? "" : "s"}${damaged}`,
  );
  return 0;
}

async function profile(workspaceDir: string, args: string[]): Promise<number> {
  const { values } = parseCommandArgs("memory profile", args, {
    rebuild: { type: "boolean" },
    edit: { type: "boolean" },
    workspace: { type: "string" },
  });
  const env = processEnvironment();
  let maxChars = 1_500;
  try {
    maxChars = loadCommandConfig(undefined, workspaceDir, env).observer.profileChars;
  } catch {
    // A config that cannot be read: the default size (the room would say what is wrong with it).
  }
  const said = await memoryProfile(
    workspaceDir,
    { rebuild: values.rebuild === true, edit: values.edit === true, maxChars, editor: env.VISUAL || env.EDITOR },
    async (argv) => Bun.spawn(argv, { stdio: ["inherit", "inherit", "inherit"] }).exited,
  );
  console.log(said);
  return 0;
}

/** The value of `--workspace` wherever it stands among the words (each subcommand also accepts it). */
function workspaceOf(args: string[]): string | undefined {
  for (const [index, arg] of args.entries()) {
    if (arg === "--workspace") return args[index + 1];
    if (arg.startsWith("--workspace=")) return arg.slice("--workspace=".length);
  }
  return undefined;
}

/**
 * The secrets the room of this workspace redacts with (its config's server keys and URL credentials), so a
 * rebuild here hides what the room would; none when the config cannot be read (the room would not start).
 */
function roomSecrets(workspaceDir: string): readonly string[] {
  try {
    return loadCommandConfig(undefined, workspaceDir, processEnvironment()).secrets;
  } catch {
    return [];
  }
}

/** Runs `use` with the memory of the workspace `--workspace` names (else the current directory), closed after. */
async function withMemoryStore(args: string[], use: (store: MemoryStore) => number | Promise<number>): Promise<number> {
  const workspaceDir = prepareWorkspace(workspaceOf(args) ?? process.cwd());
  const { store, notices } = MemoryStore.open(workspaceDir, { secrets: roomSecrets(workspaceDir) });
  for (const notice of notices) process.stderr.write(`org: memory: ${terminalLine(notice, 400)}\n`);
  try {
    const code = await use(store);
    for (const notice of store.takeNotices()) process.stderr.write(`org: memory: ${terminalLine(notice, 400)}\n`);
    return code;
  } finally {
    store.close();
  }
}

/** `org memory search|forget|rebuild|profile`. */
export const memoryCommand: Command = {
  ...nameAndSummary("memory"),
  help: HELP,
  run: runSubcommand(
    "memory",
    {
      search: (args, signal) => withMemoryStore(args, (store) => search(store, args, signal)),
      forget: (args) => withMemoryStore(args, (store) => forget(store, args)),
      rebuild: (args) => withMemoryStore(args, (store) => rebuild(store, args)),
      profile: (args) => profile(prepareWorkspace(workspaceOf(args) ?? process.cwd()), args),
    },
    (sub) =>
      sub === undefined
        ? "memory needs search, forget, rebuild or profile"
        : `memory has no subcommand '${sub}'; use search, forget, rebuild or profile`,
  ),
};
