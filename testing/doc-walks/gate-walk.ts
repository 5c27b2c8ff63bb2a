// docs/gate.md in a throw-away clone of org, as its session runs: the scripted server in a tmux window, two tools built
// against the same main, the first judged and promoted, the second (stale) judged on today's main and promoted, the
// first rolled back by name, rebased, judged and promoted again; the log and current's health; then `tool new --promote`,
// the whole cycle in one command. The page's second `tool new --promote` (reverse_words, about the trace) is the first
// cycle of testing/generations.e2e.tmux.test.ts, typed the same way in a clone that keeps the same test files
// (testing/doc-walk.ts, ELSEWHERE): here it was one more whole cycle proving what slugify's had.
import type { Walk, WalkContext } from "../doc-walk.ts";
import { freePort } from "../free-port.ts";

const DOC = "docs/gate.md";

/** Waits (at most 30 s) until the model server the page started in tmux answers. */
async function modelServerUp(context: WalkContext): Promise<void> {
  const url = `http://127.0.0.1:${context.aliases.get("11500")}/api/version`;
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (
      await fetch(url).then(
        (response) => response.ok,
        () => false,
      )
    )
      return;
    await Bun.sleep(100);
  }
  throw new Error(`the scripted server in tmux never answered at ${url}`);
}

/** `org candidate list`'s row of a branch the page names: its tool and state. */
const row = (branch: RegExp | string, tool: string, state: string) =>
  new RegExp(
    `^${typeof branch === "string" ? branch : branch.source} +${tool} +${state} +\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2} +scripted +`,
    "m",
  );
const CAND = String.raw`cand\/\d{8}T\d{6}Z`;

export const gateWalk: Walk = {
  name: "gate",
  setup: (context) => {
    context.cwd = context.clone;
    context.aliases.set("11500", String(freePort()));
  },
  steps: [
    {
      doc: DOC,
      command:
        'tmux new-session -d -s org -n models "org scripted-server --script demo/demo-script.json --script demo/toolsmith-script.json --port 11500"',
      run: {
        command:
          'tmux new-session -d -s "$ORG_TMUX_SESSION" -n models "org scripted-server --script ' +
          'demo/demo-script.json --script demo/toolsmith-script.json --port 11500 --no-delays"',
        why:
          "the walk's tmux session has a name of its own (ORG_TMUX_SESSION), as the ops scripts find it; the demo's " +
          "pacing, for a person to watch, made each fitness run wait seconds on the personas' replies",
      },
      after: (_output, context) => modelServerUp(context),
    },
    { doc: DOC, command: "export OLLAMA_BASE=http://127.0.0.1:11500 OLLAMA_MODEL=scripted" },
    {
      doc: DOC,
      command: 'org tool new --goal "count the words in a text"',
      says: [/✓ spec: word_count: 3 examples/, /word_count is on cand\/\S+\. Try it:/],
      after: (output, context) => {
        context.aliases.set("cand/20261123T183158Z", /✓ branch (cand\/\S+)/.exec(output)?.[1] ?? "");
      },
    },
    {
      doc: DOC,
      command: 'org tool new --goal "add up a list of numbers" 2>/dev/null',
      says: [/^sum_numbers is on cand\/\S+\. Try it: org tool run sum_numbers --ref cand\/\S+ --inputs '\{"numbers":\[1,2,3\]\}'$/m],
      after: (output, context) => {
        context.aliases.set("cand/20261123T183216Z", /sum_numbers is on (cand\/\S+)\./.exec(output)?.[1] ?? "");
      },
    },
    { doc: DOC, command: "org candidate list", says: [row(CAND, "word_count", "untested"), row(CAND, "sum_numbers", "untested")] },
    { doc: DOC, command: "ops/start-current.sh", says: [/^current: started; healthy at http:\/\/127\.0\.0\.1:\d+ \(commit [0-9a-f]{12} on main\)/m] },
    {
      doc: DOC,
      command: "ops/start-candidate.sh cand/20261123T183158Z | tail -1",
      says: [/^ {2}attach: tmux attach -t \S+ +stop: .*ops\/stop\.sh candidate$/m],
    },
    {
      doc: DOC,
      command: "ops/fitness.sh | tail -3",
      says: [/^verdict: pass — every stage passed$/m, /^report: \S+\/\.org\/fitness\/[0-9a-f]{40}\/\S+\.json$/m],
    },
    {
      doc: DOC,
      command: "ops/promote.sh",
      says: [
        /^chose cand\/\S+ \([0-9a-f]{12}\): the candidate most recently judged pass/m,
        /^promoted cand\/\S+ as [0-9a-f]{12} \(tag promote\/\d{8}T\d{6}Z\); main was [0-9a-f]{12}$/m,
        /^current is healthy at [0-9a-f]{12}$/m,
      ],
    },
    { doc: DOC, command: "org candidate list", says: [row(CAND, "word_count", "promoted"), row(CAND, "sum_numbers", "stale")] },
    { doc: DOC, command: "ops/start-candidate.sh cand/20261123T183216Z | tail -1", says: [/attach: tmux attach -t \S+/] },
    {
      doc: DOC,
      command: "ops/fitness.sh",
      says: [
        new RegExp(
          String.raw`^ok +protected-core +judged on today's main +[\d.]+ s +built on [0-9a-f]{12}, main is at [0-9a-f]{12}: main pl` +
            String.raw`us the candidate's tool folder\(s\) is judged$`,
          "m",
        ),
        /^verdict: pass — every stage passed$/m,
      ],
    },
    {
      doc: DOC,
      command: "ops/promote.sh cand/20261123T183216Z | tail -2",
      says: [
        /^promoted cand\/\S+ as [0-9a-f]{12} \(tag promote\/\S+\); main was [0-9a-f]{12}$/m,
        /^baseline: \d+ scenario count\(s\) in \.org\/fitness\/baseline\.json, none lowered$/m,
      ],
    },
    { doc: DOC, command: "org candidate list", says: [row(CAND, "word_count", "promoted"), row(CAND, "sum_numbers", "promoted")] },
    {
      doc: DOC,
      command: "ops/rollback.sh word_count",
      says: [
        /^rolled back promote\/\d{8}T\d{6}Z as [0-9a-f]{12} \(tag rollback\/\d{8}T\d{6}Z\); main was [0-9a-f]{12}$/m,
        /^current is healthy at [0-9a-f]{12}$/m,
      ],
    },
    { doc: DOC, command: "org candidate list", says: [row(CAND, "word_count", "rolled-back"), row(CAND, "sum_numbers", "promoted")] },
    {
      doc: DOC,
      command: "org candidate rebase cand/20261123T183158Z",
      says: [/^made cand\/\S+ \([0-9a-f]{12}\) from main [0-9a-f]{12} with word_count from cand\/\S+ \([0-9a-f]{12}\); cand\/\S+ is unchanged$/m],
      after: (output, context) => {
        context.aliases.set("cand/20261123T183630Z", /^made (cand\/\S+) /m.exec(output)?.[1] ?? "");
      },
    },
    { doc: DOC, command: "ops/start-candidate.sh cand/20261123T183630Z | tail -1", says: [/attach: tmux attach -t \S+/] },
    { doc: DOC, command: "ops/fitness.sh | tail -3", says: [/^verdict: pass — every stage passed$/m] },
    { doc: DOC, command: "ops/promote.sh cand/20261123T183630Z | tail -2", says: [/^promoted cand\/\S+ as [0-9a-f]{12}/m] },
    {
      doc: DOC,
      command: "org candidate list",
      says: [row(CAND, "word_count", "rolled-back"), row(CAND, "sum_numbers", "promoted"), row(CAND, "word_count", "promoted")],
    },
    {
      doc: DOC,
      command: 'git log --oneline --graph -8 --format="%h %s %d"',
      says: [/^\* +[0-9a-f]{7} merge: promote cand\/\S+ +\(HEAD -> main, tag: promote\/\d{8}T\d{6}Z\)$/m, /revert: roll back promote\/\d{8}T\d{6}Z/],
    },
    {
      doc: DOC,
      command: "curl -s http://127.0.0.1:7001/health",
      before: (context) => {
        context.aliases.set("http://127.0.0.1:7001", `http://127.0.0.1:${context.env.ORG_CURRENT_PORT}`);
      },
      says: [/^\{"ok":true,"profile":"dev",.*"branch":"main","tools":\[[^\]]*"sum_numbers","word_count"\]/m],
    },
    {
      doc: DOC,
      command: 'org tool new --goal "slugify a title for a URL" --promote',
      timeoutMs: 300_000,
      says: [
        /^✓ current: /m,
        /^✓ candidate: (started|restarted); healthy at/m,
        /^✓ fitness: verdict: pass — every stage passed$/m,
        /^slugify is promoted: cand\/\S+ is on main; undo it with org rollback$/m,
        /^still running: current serving /m,
      ],
    },
  ],
};
