import { join } from "node:path";
import { addCodeFile } from "./code-file-argument.ts";
import { type LaunchPlace, toHost } from "./launch-place.ts";
import type { LaunchPlan } from "./launch-plan.ts";

// The flags whose value is code loaded before the script (node's, bun's, NODE_OPTIONS').
const LOADING_FLAGS = new Set(["-r", "--require", "--import", "--loader", "--experimental-loader", "--preload"]);

/**
 * What a server's own environment makes it load (its `env`, a shell's `NAME=value`): NODE_OPTIONS' `--require`,
 * `--import` and loaders, NODE_PATH, PYTHONPATH (its folders' modules), PYTHONSTARTUP, PYTHONHOME, LD_PRELOAD,
 * LD_LIBRARY_PATH, BASH_ENV and ENV, PERL5LIB, PERLLIB, RUBYLIB, RUBYOPT's and PERL5OPT's `-r`/`-I`; and any value
 * that names a file of code. Relative paths are read from where the server starts.
 */
export function addEnvironment(plan: LaunchPlan, env: Record<string, string>, place: LaunchPlace): void {
  const list = (value: string) => value.split(":").filter((entry) => entry !== "" && !entry.includes("$"));
  for (const [name, value] of Object.entries(env)) {
    if (name === "NODE_OPTIONS" || name === "BUN_OPTIONS") {
      const words = value.split(/\s+/);
      words.forEach((word, index) => {
        const [flag, inline] = word.includes("=") ? [word.slice(0, word.indexOf("=")), word.slice(word.indexOf("=") + 1)] : [word, words[index + 1]];
        if (LOADING_FLAGS.has(flag ?? "") && inline !== undefined) addLoaded(plan, inline, place);
      });
    } else if (name === "NODE_PATH" || /^(PERL5LIB|PERLLIB|RUBYLIB|LD_LIBRARY_PATH|PYTHONHOME|PYTHONUSERBASE)$/.test(name))
      for (const entry of list(value)) plan.trees.push(toHost(place, entry));
    else if (name === "PYTHONPATH") for (const entry of list(value)) plan.moduleFolders.push(toHost(place, entry));
    else if (/^(PYTHONSTARTUP|BASH_ENV|ENV)$/.test(name)) plan.files.push(toHost(place, value));
    else if (name === "LD_PRELOAD") for (const entry of value.split(/[\s:]+/).filter(Boolean)) plan.files.push(toHost(place, entry));
    else if (name === "RUBYOPT" || name === "PERL5OPT") {
      for (const word of value.split(/\s+/)) {
        const flag = /^-([rI])(.+)$/.exec(word);
        if (flag?.[1] === "I") plan.trees.push(toHost(place, flag[2] ?? ""));
        else if (flag?.[2]) addCodeFile(plan, flag[2], place, true);
      }
    } else for (const word of value.split(/[\s:,;]+/)) addCodeFile(plan, word, place);
  }
}

/** A module NODE_OPTIONS loads: a file by its path, or a package the workspace's node_modules holds. */
function addLoaded(plan: LaunchPlan, specifier: string, place: LaunchPlace): void {
  if (/^(\.{1,2}\/|\/|file:)/.test(specifier)) plan.files.push(toHost(place, specifier.replace(/^file:(\/\/)?/, "")));
  else if (!specifier.startsWith("node:")) plan.trees.push(toHost(place, join("node_modules", specifier.replace(/^(@[^/]+\/[^/]+|[^/]+).*$/, "$1"))));
}
