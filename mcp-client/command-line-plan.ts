import { dirname, join, resolve } from "node:path";
import { addCodeFile } from "./code-file-argument.ts";
import { firstPositional, INLINE_CODE, isFileArgument, shellString } from "./command-arguments.ts";
import { commandCandidates, INTERPRETER, isProgram, isShellScript, PYTHON, programName, SHELL, scriptHead } from "./command-program.ts";
import { addEnvironment } from "./launch-environment.ts";
import { type LaunchPlace, toHost } from "./launch-place.ts";
import type { LaunchPlan } from "./launch-plan.ts";
import { packageScripts } from "./package-json.ts";
import { addRunnerPackage, RUNNERS } from "./runner-package.ts";
import { shellCommands } from "./shell-commands.ts";

// What each package manager reads from the project before it runs anything: its settings (a shell for scripts, node
// options, a preload, a release of itself to run) and the code it loads.
const MANAGER_FILES: Record<string, { files: readonly string[]; trees?: readonly string[] }> = {
  npm: { files: [".npmrc"] },
  npx: { files: [".npmrc"] },
  pnpm: { files: [".npmrc", ".pnpmfile.cjs"] },
  pnpx: { files: [".npmrc", ".pnpmfile.cjs"] },
  yarn: { files: [".yarnrc", ".yarnrc.yml", ".pnp.cjs", ".pnp.loader.mjs"], trees: [".yarn/releases", ".yarn/plugins"] },
  bun: { files: ["bunfig.toml", ".npmrc"] },
  bunx: { files: ["bunfig.toml", ".npmrc"] },
};
// A package manager's subcommands that run a package.json script, and the script each names (undefined: the next word).
const SCRIPT_RUNS: Record<string, Record<string, string | undefined>> = {
  npm: {
    run: undefined,
    "run-script": undefined,
    rum: undefined,
    urn: undefined,
    start: "start",
    test: "test",
    t: "test",
    tst: "test",
    restart: "restart",
    stop: "stop",
  },
  pnpm: { run: undefined, "run-script": undefined, start: "start", test: "test", t: "test", restart: "restart", stop: "stop" },
  yarn: { run: undefined, start: "start", test: "test", restart: "restart", stop: "stop" },
  bun: { run: undefined },
};
// Programs that run the command after their own flags (and, for env, NAME=value words; for timeout, a duration), and
// their flags that take a value.
const WRAPPERS: Record<string, ReadonlySet<string>> = {
  env: new Set(["-u", "--unset", "-C", "--chdir"]),
  exec: new Set(["-a"]),
  command: new Set(),
  nohup: new Set(),
  nice: new Set(["-n", "--adjustment"]),
  time: new Set(["-f", "--format", "-o", "--output"]),
  timeout: new Set(["-s", "--signal", "-k", "--kill-after"]),
  stdbuf: new Set(["-i", "-o", "-e"]),
  setsid: new Set(),
};

// Programs that build or run the project in their working folder (its sources, its environment with the project
// installed in it, its Makefile), and the subcommand that does it ("any": whatever it is asked).
const PROJECT_RUNS: Record<string, readonly string[] | "any"> = {
  uv: ["run"],
  poetry: ["run"],
  pipenv: ["run"],
  pdm: ["run"],
  hatch: ["run"],
  rye: ["run"],
  pixi: ["run"],
  cargo: ["run"],
  go: ["run"],
  dotnet: ["run"],
  make: "any",
  just: "any",
  task: "any",
};

/** How deep a command may start another (a script that runs a script), as far as a plan follows it. */
const MAX_DEPTH = 4;

/** One command and its arguments: the program, and what it loads by what it is (runner, package manager, interpreter, shell, wrapper). */
export function addCommandLine(plan: LaunchPlan, command: string, args: readonly string[], place: LaunchPlace): void {
  if (place.depth > MAX_DEPTH || command === "" || command.includes("$")) return;
  const candidates = commandCandidates(command, place);
  plan.files.push(...candidates);
  // A script run as a program (`./run.sh`, `#!/bin/sh` first): what it sources and runs is followed as a shell's.
  const program = candidates.at(-1);
  if (program !== undefined && isProgram(program) && isShellScript(program)) addShellFile(plan, program, place);
  const name = programName(command);
  for (const file of MANAGER_FILES[name]?.files ?? []) plan.files.push(toHost(place, file));
  for (const tree of MANAGER_FILES[name]?.trees ?? []) plan.trees.push(toHost(place, tree));
  const runner = RUNNERS[name];
  const subcommand = firstPositional(args);
  const inner = { ...place, depth: place.depth + 1 };
  const inlineCode = args.some((arg) => INLINE_CODE.has(arg));
  if (WRAPPERS[name]) addWrapped(plan, name, args, inner);
  else if (runner && (!runner.subcommands || (subcommand !== undefined && runner.subcommands.includes(args[subcommand] ?? "")))) {
    addRunnerPackage(plan, runner.kind, args.slice(runner.subcommands ? (subcommand ?? 0) + 1 : 0), place);
  } else if (SCRIPT_RUNS[name] && !inlineCode && !(name === "bun" && isFileArgument(args, subcommand, place)))
    addPackageScript(plan, name, args, inner);
  else if (SHELL.test(name) && shellString(args) !== undefined) addShellScript(plan, shellString(args) ?? "", inner);
  else if (INTERPRETER.test(name)) addScript(plan, name, args, place);
  const run = PROJECT_RUNS[name];
  if (run !== undefined && (run === "any" || run.includes(args[subcommand ?? -1] ?? ""))) plan.reaches.push(toHost(place, "."));
  for (const arg of args) addCodeFile(plan, arg, place);
}

/** `env A=1 node x.js`, `nice -n 5 node x.js`, `timeout 60 node x.js`, `env -S 'node x.js'`: the command after the wrapper's own words. */
function addWrapped(plan: LaunchPlan, name: string, args: readonly string[], place: LaunchPlace): void {
  const valueFlags = WRAPPERS[name] ?? new Set<string>();
  const assigned: Record<string, string> = {};
  let duration = name === "timeout";
  let index = 0;
  for (; index < args.length; index += 1) {
    const arg = args[index] ?? "";
    const assignment = name === "env" ? /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(arg) : null;
    if (arg === "--") {
      index += 1;
      break;
    }
    if (assignment) assigned[assignment[1] ?? ""] = assignment[2] ?? "";
    else if (name === "env" && (arg === "-S" || arg === "--split-string")) {
      // The string is split into the command and its first arguments, as a shell would.
      addEnvironment(plan, assigned, place);
      addShellScript(plan, args.slice(index + 1).join(" "), place);
      return;
    } else if (valueFlags.has(arg)) index += 1;
    else if (arg.startsWith("-")) continue;
    else if (duration) duration = false;
    else break;
  }
  addEnvironment(plan, assigned, place);
  const [command, ...rest] = args.slice(index);
  if (command !== undefined) addCommandLine(plan, command, rest, place);
}

/**
 * A shell's command string: each of its commands as a command line (with `NAME=value` before one as its environment,
 * `cd DIR` moving the folder the next ones start in), and every word that names a file of code.
 */
function addShellScript(plan: LaunchPlan, text: string, start: LaunchPlace): void {
  if (start.depth > MAX_DEPTH) return;
  let place = start;
  for (const words of shellCommands(text)) {
    let index = 0;
    const assigned: Record<string, string> = {};
    for (
      let match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(words[0] ?? "");
      match;
      match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(words[++index] ?? "")
    )
      assigned[match[1] ?? ""] = match[2] ?? "";
    addEnvironment(plan, assigned, place);
    const [command, ...args] = words.slice(index);
    if (command === undefined) continue;
    if (command === "cd" && args[0] !== undefined && !args[0].includes("$")) place = { ...place, cwd: resolve(place.cwd, args[0]) };
    else if ((command === "." || command === "source") && args[0] !== undefined) {
      plan.files.push(toHost(place, args[0]));
      if (!args[0].includes("$")) addShellFile(plan, toHost(place, args[0]), place);
    } else addCommandLine(plan, command, args, place);
  }
}

/**
 * A shell script's own commands, read from its file one level deeper: what it sources (a file sourced by a sourced
 * file too, to the depth bound) and runs. Sourced files keep the shell's working folder, as a shell does.
 */
function addShellFile(plan: LaunchPlan, path: string, place: LaunchPlace): void {
  const text = scriptHead(path);
  if (text !== undefined) addShellScript(plan, text, { ...place, depth: place.depth + 1 });
}

/**
 * `npm run NAME` (`npm start`, `pnpm NAME`, `yarn NAME`, `bun run NAME`): the project's package.json, and what the
 * script and its `pre`/`post` scripts run, with the project's `node_modules/.bin` first on PATH.
 */
function addPackageScript(plan: LaunchPlan, manager: string, args: readonly string[], place: LaunchPlace): void {
  const at = firstPositional(args);
  if (at === undefined) return;
  const runs = SCRIPT_RUNS[manager] ?? {};
  const word = args[at] ?? "";
  // pnpm and yarn run a script named as their first word; so does bun, when no file has that name.
  const script = word in runs ? (runs[word] ?? args[firstPositional(args, at + 1) ?? -1]) : manager === "npm" ? undefined : word;
  if (script === undefined) return;
  const manifest = toHost(place, "package.json");
  plan.files.push(manifest);
  const scripts = packageScripts(manifest);
  const inside = { ...place, path: [resolve(place.cwd, "node_modules/.bin"), ...place.path] };
  for (const name of [`pre${script}`, script, `post${script}`]) {
    const text = scripts[name];
    if (text !== undefined) addShellScript(plan, text, inside);
  }
}

/**
 * An interpreter's script (its first positional argument); code given inline (`-c`, `-e`) and the files it names;
 * for Python, the folder it imports from first: the script's, or its working folder for `-m`, `-c` or none.
 */
function addScript(plan: LaunchPlan, name: string, args: readonly string[], place: LaunchPlace): void {
  const python = PYTHON.test(name);
  const inline = args.findIndex((arg) => INLINE_CODE.has(arg) && !(name === "bun" && arg === "-p"));
  const module = args.indexOf("-m");
  if (inline >= 0) {
    // Inline code's relative imports start from its working folder: whatever lies there, it can load.
    plan.reaches.push(toHost(place, "."));
    for (const words of shellCommands(args[inline + 1] ?? "")) for (const word of words) addCodeFile(plan, word, place, true);
    if (python) plan.moduleFolders.push(toHost(place, "."));
    return;
  }
  if (python && module >= 0 && args[module + 1] !== undefined) {
    // `-m` puts the working folder first on sys.path: the module, or a package of its first name, is found there first.
    const parts = (args[module + 1] ?? "").split(".");
    const top = toHost(place, parts[0] ?? "");
    plan.files.push(
      `${top}.py`,
      join(top, "__init__.py"),
      `${toHost(place, parts.join("/"))}.py`,
      join(toHost(place, parts.join("/")), "__main__.py"),
    );
    plan.moduleFolders.push(toHost(place, "."));
    return;
  }
  const rest = (name === "bun" || name === "deno") && args[0] === "run" ? args.slice(1) : args;
  const at = firstPositional(rest);
  if (at !== undefined) plan.files.push(toHost(place, rest[at] ?? ""));
  if (at !== undefined && SHELL.test(name)) addShellFile(plan, toHost(place, rest[at] ?? ""), place);
  if (python) plan.moduleFolders.push(at === undefined ? toHost(place, ".") : dirname(toHost(place, rest[at] ?? "")));
}
