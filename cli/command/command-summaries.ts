/**
 * Each subcommand of `org` by name, in the order `org --help` lists them (the first is the default): its line there.
 * The command table and the command itself both read it here.
 */
const SUMMARIES = {
  chat: "the chat room in this terminal (default); --once TEXT [--json] for one turn",
  demo: "watch a scripted session: three personas, sandboxed tools, direct mode, the toolsmith (no model needed)",
  serve: "the room over HTTP: SSE messages, jobs, the OpenAI chat API, tools, MCP, health and metrics",
  sandbox: "try the tool sandbox: run a command in it, or check that it works here",
  "scripted-server": "run a scripted OpenAI-compatible model server (for tests and the demo)",
  tool: "make, list, show, run and search generated tools (tool new --goal …)",
  workflow: "run or check a JSON workflow that chains generated tools, or plan one from a goal",
  memory: "search the workspace's memory of past sessions and saved facts; forget; rebuild; the profile of what org learned about you",
  instance: "the current checkout and a candidate branch side by side in tmux (start, stop, status)",
  fitness: "judge the running candidate's exact commit against current (the fitness gate)",
  promote: "merge a candidate that passed the fitness gate into main, restart current, roll back if unhealthy",
  rollback: "revert the last promotion on main (or a named one), restart current and check its health",
  mcp: "the generated tools and workflows as an MCP server on stdio; servers and trust for the room's own MCP servers",
  config: "what of the workspace's org.config.json waits for your confirmation (status), and confirming it (trust)",
  init: "write a commented org.config.json for this workspace (--model M, --force)",
  doctor: "check the model server, models, sandbox, tmux, git, strace, checkout, disk and MCP servers, each with a fix",
  candidate: "list, rebase and prune the toolsmith's cand/* branches",
  undo: "take back the newest change the agents applied to the workspace (--list, --json, --force)",
  patch: "one task file run by the agent on a private copy of a repository, printed as a commit message and a patch (for CI)",
  grow: "notice what the rooms could not do, build it within a budget, judge, promote, roll back (--once, proposals, show, accept, status)",
  supervise: "keep org alive unattended: known failures found and fixed, incidents reported (--once, status, apply, mute)",
  schedule: "prompts and workflows run on a cron schedule by the supervisor, unattended (list, run NAME, pause NAME, resume NAME)",
  backup: "one file holding every ref and org's state, verified by hash (verify FILE, list)",
  restore: "rebuild a checkout and workspace from a backup into a new folder (FILE --to DIR)",
  web: "the room in a browser: each persona's lane, approvals, changes, tools, candidates, growth, supervisor, memory",
  share: "tools offered to a team through a git remote, signed; the team's offers judged by this machine's gate before they land",
  telegram: "the room from a phone: a Telegram bot for the allowed chats, replies streamed, approvals as buttons",
} as const;

/** The name of a subcommand of `org`. */
export type CommandName = keyof typeof SUMMARIES;

/** A subcommand's name and its one-line summary, as `org --help` lists it. */
export function nameAndSummary(name: CommandName): { name: CommandName; summary: string } {
  return { name, summary: SUMMARIES[name] };
}

function isCommandName(name: string): name is CommandName {
  return Object.hasOwn(SUMMARIES, name);
}

/** Every subcommand's name, in `org --help`'s order; the first is the default. */
export const COMMAND_NAMES: readonly CommandName[] = Object.keys(SUMMARIES).filter(isCommandName);
