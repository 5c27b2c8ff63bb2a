import { COMMAND_NAMES, nameAndSummary } from "./command/command-summaries.ts";

/** What `org --help` prints: every command with its summary, the options and the environment org reads. */
export function mainHelp(): string {
  const commands = COMMAND_NAMES.map(nameAndSummary);
  const width = Math.max(...commands.map((command) => command.name.length), 4);
  const lines = commands.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`);
  return [
    "org — a terminal chat room of local LLM personas that run tools in a sandbox and grow new tools.",
    "",
    "Usage: org [command] [options]",
    "",
    "Commands:",
    ...lines,
    "",
    "Options:",
    "  -h, --help     show this help, or a command's help after its name ('help chat' works too)",
    "  -v, --version  print the version",
    "",
    "Environment: OLLAMA_BASE (default http://127.0.0.1:11434), OLLAMA_MODEL, ORG_SANDBOX=off (unsafe; serve " +
      "also needs --unsafe-no-sandbox), ORG_API_TOKEN (serve), ORG_HOME (where your confirmations live; default ~/.config/org), " +
      "ORG_PREBUILT=off (run org's source files, not the bundle npm run build makes of them), NO_COLOR.",
    "Run 'org <command> --help' for a command's options.",
  ].join("\n");
}
