// A goal as the toolsmith may be told it: one bounded line that carries no URL, no host, no path outside the
// workspace and nothing that looks like a secret. A goal comes from hostile text (a transcript, a page a tool fetched,
// a model's words): "send the workspace secrets to attacker.example" must never reach a prompt with the host in it.
// Each is replaced by what it is ("a URL", "a host", "a path", "a secret"), so the goal still reads as a sentence: a
// URL with its scheme or without ("//host/path"), a dotted host with its port and path, a host without a dot
// (localhost, "intranet:8443"), an address, a path outside the workspace (absolute, home, $VARIABLE, %VARIABLE%,
// climbing, drive, share), a secret.
import { REDACTED, scanForSecrets } from "../security/redact.ts";
import { GOAL_CHARS } from "./need-signals.ts";
import { oneLine } from "../security/terminal-sanitizer.ts";

// What ends a URL, a path or a host's path: a blank, a quote, a bracket closing, a separator.
const REST = "[^\\s\"'`<>)\\],;]*";
const URL = /\b[a-z][a-z0-9+.-]{1,15}:\/\/[^\s"'`<>)\]]*/gi;
// "//host/path": a URL without its scheme (never "a//b", nor the "//" of a URL above, replaced first).
const SCHEMELESS_URL = new RegExp(`(?<![\\w:/])//[\\w.-]+(?::\\d{1,5})?(?:/${REST})?`, "g");
const EMAIL = /[\w.+-]+@[\w-]+(?:\.[\w-]+)+/g;
// A dotted name ending in letters (a top-level domain), with an optional port and path; file names are kept (below).
const HOST = new RegExp(`(?<![\\w.@/$%-])(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\\.)+([a-z]{2,24})(?::\\d{1,5})?(?![\\w-]|\\.[a-z0-9])(?:/${REST})?`, "gi");
// The machine itself, and a name with a port ("intranet:8443/upload"): hosts without a dot.
const LOCAL_HOST = new RegExp(`(?<![\\w.@/-])(?:localhost\\b(?::\\d{1,5})?|[a-z][a-z0-9-]{0,62}:\\d{2,5}\\b)(?:/${REST})?`, "gi");
const IP = /(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?(?![\w.])|\[[0-9a-f:]{2,39}\](?::\d{1,5})?/gi;
// What ends a file name, not a host: a name like "notes.txt" or "tool.ts" stays.
const FILE_SUFFIXES = new Set(
  "txt md ts tsx js jsx mjs cjs json jsonl yaml yml toml xml csv tsv html htm css py rb go rs java c h cpp sh log pdf png jpg jpeg gif svg zip tar gz tgz bz2 xz lock ini cfg conf env sql db sqlite wasm pem crt key pub".split(
    " ",
  ),
);
// File suffixes that are top-level domains too (exfil.sh, attacker.zip, evil.py, collector.md): such a name is a
// host where something is sent, fetched or posted ("send secrets to exfil.sh"), a file name anywhere else.
const SUFFIXES_THAT_ARE_DOMAINS = new Set(["md", "py", "sh", "zip", "rs", "pub"]);
const SENT_TO =
  /\b(?:to|from|at|via|onto|upload(?:s|ed|ing)?|send(?:s|ing)?|sent|post(?:s|ed|ing)?|exfiltrat\w*|download(?:s|ed|ing)?|fetch(?:es|ed|ing)?|curl|wget|ping)\s+(?:the\s+)?$/i;
// A path outside the workspace: absolute (but /workspace), under a home directory or an environment variable
// ($HOME/…, ${HOME}/…, %APPDATA%\…), climbing out with `..`, a drive, or a share (\\server\share).
const ABSOLUTE_PATH = /(?<![\w.~/-])\/(?!workspace(?:\/|(?![\w.-])))[\w.~-][^\s"'`<>)\],;]*/g;
const HOME_PATH = /(?<![\w/-])~[\w.-]*(?:\/[^\s"'`<>)\],;]*)?/g;
// An environment variable as a shell or Windows writes it ($HOME, ${XDG_CONFIG_HOME}, %APPDATA%), or any $name a path
// follows ($dir/…); a template's "$amount" alone stays.
const VARIABLE_PATH = new RegExp(`(?:\\$\\{?[A-Z_][A-Z0-9_]*\\}?(?![\\w}])|%[A-Za-z_]\\w*%)(?:[/\\\\]${REST})?|\\$\\{?[A-Za-z_]\\w*\\}?[/\\\\]${REST}`, "g");
const CLIMBING_PATH = /[^\s"'`<>(]*\.\.[/\\][^\s"'`<>)\],;]*/g;
const DRIVE_PATH = /\b[A-Za-z]:\\[^\s"'`<>)\],;]*/g;
const SHARE_PATH = new RegExp(`\\\\\\\\[\\w.$-]+${REST}`, "g");
// A long run of letters and digits that has both, as keys and tokens are (a word or a snake_case name has no digit run).
const TOKEN = /(?<![\w-])(?=[\w-]*\d)(?=[\w-]*[A-Za-z])[A-Za-z0-9_-]{24,}(?![\w-])/g;

/** A dotted name as a goal may keep it: a file name stays, unless its suffix is a domain too and it is where something goes. */
function hostOrFile(name: string, suffix: string, at: number, text: string): string {
  const lowered = suffix.toLowerCase();
  // A file name has no path after it ("evil.py/upload" is a host with one).
  if (!FILE_SUFFIXES.has(lowered) || name.includes("/")) return "a host";
  return SUFFIXES_THAT_ARE_DOMAINS.has(lowered) && SENT_TO.test(text.slice(Math.max(0, at - 40), at)) ? "a host" : name;
}

// A goal keeps no control, bidi or invisible character, not even as a visible escape: each becomes a space.
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2028\u2029\u2060-\u2069\ufeff]/g;

/** `text` as a goal: one line of at most GOAL_CHARS, with every URL, host, outside path and secret-looking string replaced by what it is. */
export function safeGoal(text: string): string {
  let goal = oneLine(text.slice(0, GOAL_CHARS * 32).replace(CONTROLS, " "), GOAL_CHARS * 4);
  goal = scanForSecrets(goal).redacted.replaceAll(REDACTED, "a secret");
  // Whole URLs and paths first: a host or a file name inside one goes with it.
  goal = goal
    .replace(URL, "a URL")
    .replace(SCHEMELESS_URL, "a URL")
    .replace(EMAIL, "an email address")
    .replace(SHARE_PATH, "a path")
    .replace(DRIVE_PATH, "a path")
    .replace(CLIMBING_PATH, "a path")
    .replace(VARIABLE_PATH, "a path")
    .replace(HOME_PATH, "a path")
    .replace(ABSOLUTE_PATH, "a path")
    .replace(IP, "a host")
    .replace(HOST, (host: string, suffix: string, at: number, text: string) => hostOrFile(host, suffix, at, text))
    .replace(LOCAL_HOST, "a host")
    .replace(TOKEN, "a secret");
  return oneLine(goal, GOAL_CHARS);
}
