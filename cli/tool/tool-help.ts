// What `org tool --help` says of the subcommands in files of their own, here so that the help and a light
// subcommand (list, show) load none of their code.

/** The `tool new` paragraph of `org tool --help`. */
export const TOOL_NEW_HELP = `new   The toolsmith writes a tool for the goal: spec, tool.ts, tests, validation in the sandbox (policy,
      typecheck, tests with coverage, mutants, held-out examples, determinism), repairs, and a new branch
      cand/<UTC timestamp> made from main in a separate worktree. The checkout you run is not touched.
      Progress goes to stderr. With --json the last stdout line is
      {"ok","name","branch","commit","attempts","failure"}. Exit 0 only when a branch was made; then the
      last line is a 'Try it:' command that runs the new tool on its spec's first example, as printed.
      --promote goes on through the whole cycle, each stage the command you would type next, printed as
      it runs: instance start current, instance start candidate BRANCH (tmux), fitness, promote BRANCH;
      then the candidate instance is stopped and the worktree made for it removed. It stops at the first
      stage that fails, says why, and leaves the candidate running to inspect (exit 1); a candidate that
      did not start, or Ctrl-C, leaves neither. With --json the line also has "promoted", "stages"
      ([{stage, ok, command, exitCode, detail, durationMs, reportPath?}]) and, on failure, "stoppedAt".
      Last (on stderr with --json) it says what still runs in tmux (current, serving the tool), at which URL
      and window, and the exact command that stops it.
      Run from a directory outside org's clone, the branch still goes to the clone: a 'note:' line says so.`;

/** The `tool search` paragraph of `org tool --help`. */
export const TOOL_SEARCH_HELP = `search Finds generated tools, promoted (tools/generated/) and candidates (cand/* branches), by what they
      do: BM25 over names, descriptions, schema fields and examples, blended with embedding similarity
      when ORG_EMBED_BASE (default OLLAMA_BASE) answers /api/embed for ORG_EMBED_MODEL (default
      nomic-embed-text; 'off' for full-text search alone). The first line says which was used (and, in
      a few words, why embeddings were not). Each hit shows its relevance as a share of the best one's.
      --limit N (default 10); --json prints one JSON line. The index is a cache in .org/registry/ of the
      checkout, brought up to date before each search.`;

/** The `tool stats` paragraph of `org tool --help`. */
export const TOOL_STATS_HELP = `stats Every call of a generated tool, from the room, serve, MCP, workflows and tool run, as recorded in
      .org/usage/ of the checkout: calls, ok, failed (the tool's own failures, by reason), input (refused by
      the tool's input schema: the caller's mistake), cancelled (cut by the caller), success and trust (over
      ok and failed only; trust weighted by age, half-life 7 days), latency p50/p95. Input and cancelled
      calls never count toward a tool's health (org grow's rollbacks). NAME shows one tool. --json prints one
      JSON line {"tools":[{tool, calls, ok, failed, failedBy, input, cancelled, successRate, trust, latencyMs,
      firstCall, lastCall}]}.`;
