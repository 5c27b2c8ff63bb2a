// A run's noticing step: read the sources from the cursor (the rules find the facts), let the model hear the turns
// (`report_needs`; the word rules where it does not), merge the needs into proposals by meaning, and mark the ones an
// existing tool (promoted, or a waiting candidate's) covers. Returns the new state; the caller keeps it.
import { generatedToolNames } from "../config/tool-names.ts";
import type { RepoGit } from "../git/repo-git.ts";
import type { ShareHome } from "../share/share-home.ts";
import type { LanguageModel } from "../llm/language-model.ts";
import type { Embedder } from "../registry/ollama-embedder.ts";
import { checkCover, openToCover } from "./cover-needs.ts";
import { goalVectors } from "./goal-vectors.ts";
import type { GrowReport } from "./grow-report.ts";
import type { GrowState } from "./grow-state.ts";
import { type Hearing, hearNeeds } from "./hear-needs.ts";
import { turnKey } from "./proposal.ts";
import { type MergeOutcome, mergeNeeds } from "./merge-needs.ts";
import { type NoticeBounds, type Noticed, noticeNeeds, toolKinds } from "./notice-needs.ts";
import { type HeardTurn, WORDED_KINDS } from "./room-needs.ts";
import type { MeaningJudge } from "./same-meaning.ts";
import { sameNeedQuestions } from "./same-need-question.ts";

/** Goals embedded in one run at most (the newest proposals' and the needs'). */
const MAX_EMBEDDED_GOALS = 2_000;

/** What the step is given. */
export type NoticeStepRequest = {
  workspaceDir: string;
  repoDir: string;
  git: RepoGit;
  state: GrowState;
  /** The model that hears and judges (counted by the budget); absent: the word rules alone. */
  listener?: LanguageModel;
  embedder?: Embedder;
  /** The person's org folder, whose share state names the team's offers a need may be covered by. */
  shareHome?: ShareHome;
  confirmSessions: number;
  now: Date;
  /** The run's deadline: the model's calls end with it. */
  deadline: AbortSignal;
  /** The run's own signal (reading git and the registry). */
  signal: AbortSignal;
  notes: string[];
};

/** What the step found: the new state, the merge, what was covered, and how it heard. */
export type NoticeStepOutcome = {
  state: GrowState;
  noticed: Noticed;
  merged: MergeOutcome;
  needs: number;
  covered: string[];
  noticing: NonNullable<GrowReport["noticing"]>;
  /** How meaning was judged (the goals' vectors, the model's questions): a build's own cover check judges the same way. */
  meaning: MeaningJudge;
};

/**
 * Where a second look stops so that the turns the budget left unheard are not consumed: each transcript at its first
 * such turn (else where the first look stopped, so that nothing appended since is taken unheard either), serve's
 * jobs before the first job such a turn is in.
 */
function boundsBefore(cut: readonly HeardTurn[], first: Noticed): NoticeBounds {
  const sessions = new Map(Object.entries(first.cursor.sessions).map(([session, mark]) => [session, mark.offset]));
  const cutSessions = new Set<string>();
  let job: string | undefined;
  for (const turn of cut) {
    if (turn.job !== undefined) {
      job ??= turn.job;
      continue;
    }
    const earlier = cutSessions.has(turn.session) ? (sessions.get(turn.session) ?? turn.at) : turn.at;
    sessions.set(turn.session, Math.min(earlier, turn.at));
    cutSessions.add(turn.session);
  }
  return { sessions, ...(job !== undefined ? { job } : {}) };
}

/** The needs of a run: the rules' facts, their worded needs in turns the model did not hear, and what the model kept. */
function runNeeds(noticed: Noticed, hearing: Hearing) {
  const ruled = noticed.needs.filter((need) => !(WORDED_KINDS.has(need.kind) && hearing.heard.has(turnKey(need))));
  return [...ruled, ...hearing.needs];
}

function noticingRecord(hearing: Hearing, listener: LanguageModel | undefined, questions: number, degraded: string[]): NoticeStepOutcome["noticing"] {
  const by =
    hearing.batches === 0
      ? "nothing to hear"
      : hearing.byModel === 0 && hearing.byRules === 0
        ? "not heard"
        : hearing.byRules === 0
          ? "model"
          : hearing.byModel === 0
            ? "rules"
            : "model and rules";
  const all = [...hearing.degraded, ...degraded];
  return {
    by,
    ...(listener ? { model: listener.modelId } : {}),
    batches: hearing.batches,
    byModel: hearing.byModel,
    byRules: hearing.byRules,
    dropped: hearing.dropped,
    ...(hearing.ambiguous > 0 ? { ambiguous: hearing.ambiguous } : {}),
    ...(hearing.notSaid > 0 ? { notSaid: hearing.notSaid } : {}),
    ...(hearing.settings > 0 ? { settings: hearing.settings } : {}),
    ...(hearing.refused > 0 ? { refused: hearing.refused } : {}),
    ...(hearing.untiedCount > 0 ? { untied: { needs: hearing.untiedCount, named: hearing.untied } } : {}),
    ...(hearing.cut.length > 0 ? { waiting: hearing.cut.length } : {}),
    questions,
    ...(all.length > 0 ? { degraded: all } : {}),
  };
}

/** Noticing, hearing, merging and the cover check of one run. */
export async function noticeStep(request: NoticeStepRequest): Promise<NoticeStepOutcome> {
  const { workspaceDir, repoDir, signal, deadline, embedder, listener } = request;
  const look = { workspaceDir, cursor: request.state.cursor, kindOf: toolKinds(generatedToolNames([workspaceDir, repoDir])), now: request.now };
  let noticed = noticeNeeds(look);
  const hearing = await hearNeeds(noticed.turns, listener, deadline);
  // Turns the budget ended before the model heard: read again up to them, so that the cursor stops before them and
  // the next run hears them (nothing, not even a fact, is taken from them now).
  if (hearing.cut.length > 0) noticed = noticeNeeds({ ...look, until: boundsBefore(hearing.cut, noticed) });
  const needs = runNeeds(noticed, hearing);
  // Embeddings for what is judged: the new needs' goals and the proposals' they may join, and every open proposal's,
  // which the cover check judges each run. A cover decided with them is decided with them again whether or not the run
  // noticed anything new (without them a dry run's cover was lost in the real run after it).
  const goals =
    needs.length === 0
      ? request.state.proposals.filter(openToCover).map((proposal) => proposal.goal)
      : [...request.state.proposals.map((proposal) => proposal.goal), ...needs.map((need) => need.goal)];
  const vectors = await goalVectors(embedder, goals.slice(-MAX_EMBEDDED_GOALS), deadline, request.notes).catch((error: unknown) => {
    if (!deadline.aborted || signal.aborted) throw error;
    request.notes.push("embeddings not used for merging needs: the run's budget ended first");
    return undefined;
  });
  // The answers of earlier runs, kept with the proposals: the same question is not asked again, and gets the same answer.
  const remembered = { ...(request.state.sameNeed ?? {}) };
  const questions = sameNeedQuestions(listener, deadline, remembered, () => request.now);
  const meaning = { ...(vectors ? { vectors } : {}), ask: questions.ask };
  const merged = await mergeNeeds(request.state.proposals, needs, { now: request.now, confirmSessions: request.confirmSessions, meaning });
  const covered = await checkCover(merged.proposals, new Set(merged.proposals.map((proposal) => proposal.id)), {
    repoDir,
    git: request.git,
    ...(request.shareHome ? { shareHome: request.shareHome } : {}),
    ...(embedder ? { embedder } : {}),
    meaning,
    confirmSessions: request.confirmSessions,
    now: request.now.toISOString(),
    notes: request.notes,
    signal,
  });
  return {
    state: { version: 1, cursor: noticed.cursor, proposals: merged.proposals, sameNeed: remembered },
    noticed,
    merged,
    needs: needs.length,
    covered,
    noticing: noticingRecord(hearing, listener, questions.asked(), questions.degraded),
    meaning,
  };
}
