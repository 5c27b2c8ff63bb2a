// Needs that mean the same thing become one proposal. A need that names a tool (a missing tool, a failing one)
// joins the proposal about that tool; any other joins the proposal that means the same (`sameMeaning`: the words, the
// embeddings' cosine when there are vectors, and a model asked when two goals are close but not certain), the most
// alike first, the oldest on a tie; else it starts a proposal. The same turn seen twice (a request and the reply that
// could not meet it, or a re-read after a crash) counts once. With the same answers, the same needs in the same order
// give the same proposals.
import { type NeedTerms, needKey, needTerms } from "../registry/need-similarity.ts";
import { type MeaningJudge, sameMeaningAmong } from "./same-meaning.ts";
import {
  MAX_ATTEMPTS,
  MAX_EVIDENCE,
  MAX_SEEN_SESSIONS,
  type NeedKind,
  type NeedSource,
  type Proposal,
  type ProposalKind,
  SOURCE_RANK,
  turnKey,
} from "./proposal.ts";
import type { Need } from "./room-needs.ts";

/** Which signal's words make the better goal: the model's short line of what was heard, a person's own words, a tool's name last. */
const GOAL_RANK: Record<NeedKind, number> = {
  noticed: 8,
  plan: 7,
  wish: 7,
  request: 6,
  cannot: 5,
  "missing-tool": 4,
  "failed-step": 3,
  "missing-command": 3,
  rollback: 2,
  "failed-call": 1,
  idle: 0,
};

/** The proposal kind a need asks for. */
function kindOfNeed(need: Pick<Need, "kind" | "asks">): ProposalKind {
  if (need.asks !== undefined) return need.asks;
  if (need.kind === "failed-call" || need.kind === "rollback") return "rebuild";
  if (need.kind === "idle") return "remove";
  return "build";
}

/** What a merge did: the proposals after it, and how many needs started one and how many joined one. */
export type MergeOutcome = { proposals: Proposal[]; created: string[]; merged: number; touched: Set<string> };

/** A stable id for a new proposal: `p` and hex of its goal's terms, longer when taken. */
function proposalId(goal: string, taken: ReadonlySet<string>): string {
  const hash = new Bun.CryptoHasher("sha256").update(needKey(needTerms(goal)) || goal).digest("hex");
  for (let length = 10; length <= 16; length += 1) {
    const id = `p${hash.slice(0, length)}`;
    if (!taken.has(id)) return id;
  }
  for (let suffix = 0; ; suffix += 1) {
    const id = `p${new Bun.CryptoHasher("sha256").update(`${hash}${suffix}`).digest("hex").slice(0, 16)}`;
    if (!taken.has(id)) return id;
  }
}

/** A session as a proposal remembers it. */
const sessionKey = (session: string) => new Bun.CryptoHasher("sha256").update(session).digest("hex").slice(0, 8);

/** A proposal kept before sessions were counted: its sessions as its evidence tells them (in place). */
export function countSessionsOfOlderProposal(proposal: Proposal): void {
  if (proposal.seenIn.length > 0 || proposal.evidence.length === 0) return;
  proposal.seenIn = [...new Set(proposal.evidence.map((evidence) => sessionKey(evidence.session)))];
  proposal.sessions = Math.max(proposal.sessions, proposal.seenIn.length);
}

/** How merging weighs goals (`MeaningJudge`), and how many sessions confirm a need no person asked for. */
export type MergeOptions = { now: Date; confirmSessions: number; meaning?: MeaningJudge };

/**
 * Where a proposal to build that nobody is working on stands: `pending` when a person asked for it (their words,
 * `org grow accept`, or evidence kept before sources were recorded) or it was seen in `confirmSessions` sessions;
 * else `unconfirmed`. Rebuilds and removals are org's own judgement of a tool: pending.
 */
export function openState(proposal: Proposal, confirmSessions: number): "pending" | "unconfirmed" {
  if (proposal.kind !== "build") return "pending";
  const confirmed =
    proposal.accepted === true ||
    (proposal.sources.user ?? 0) > 0 ||
    proposal.sessions >= confirmSessions ||
    proposal.evidence.some((evidence) => evidence.source === undefined);
  return confirmed ? "pending" : "unconfirmed";
}

/** The proposals being merged into: copies of the given ones, with each one's terms and evidence keys at hand. */
class ProposalSet {
  readonly list: Proposal[];
  readonly #terms: Map<string, NeedTerms>;
  readonly #keys: Map<string, Set<string>>;

  constructor(
    proposals: readonly Proposal[],
    readonly options: MergeOptions,
  ) {
    this.list = proposals.map((proposal) => ({
      ...proposal,
      evidence: proposal.evidence.map((evidence) => ({ ...evidence })),
      signals: { ...proposal.signals },
      sources: { ...proposal.sources },
      seenIn: [...proposal.seenIn],
    }));
    this.#terms = new Map(this.list.map((proposal) => [proposal.id, needTerms(proposal.goal)]));
    this.#keys = new Map(this.list.map((proposal) => [proposal.id, new Set(proposal.evidence.map(turnKey))]));
  }

  /** The proposal a need joins: the one about its tool, else the one to build that means the same; then whatever carries that one on. */
  async target(need: Need, kind: ProposalKind, terms: NeedTerms): Promise<Proposal | undefined> {
    let target =
      need.tool === undefined
        ? undefined
        : this.list.find((proposal) => proposal.tool === need.tool && proposal.kind === kind && proposal.state !== "promoted");
    if (!target && kind === "build") {
      const builds = this.list.filter((proposal) => proposal.kind === "build");
      const meant = (proposal: Proposal) => ({ text: proposal.goal, terms: this.#terms.get(proposal.id) ?? needTerms(proposal.goal) });
      target = await sameMeaningAmong({ text: need.goal, terms }, builds, meant, this.options.meaning);
    }
    // A proposal rolled back and filed again as a rebuild hands its needs on to that rebuild.
    for (let hops = 0; target?.supersededBy !== undefined && hops < 8; hops += 1) {
      const next = target.supersededBy;
      const found = this.list.find((proposal) => proposal.id === next);
      if (!found) break;
      target = found;
    }
    return target;
  }

  /** A new proposal for a need no other means: pending, or unconfirmed when no person asked for it. */
  create(need: Need, kind: ProposalKind, terms: NeedTerms, time: string): Proposal {
    const evidence = { session: need.session, turn: need.turn, quote: need.quote, source: need.source };
    const proposal: Proposal = {
      id: proposalId(need.goal, new Set(this.list.map((entry) => entry.id))),
      goal: need.goal,
      evidence: [evidence],
      count: 1,
      sessions: 1,
      seenIn: [sessionKey(need.session)],
      sources: { [need.source]: 1 },
      firstSeen: time,
      lastSeen: time,
      state: "pending",
      kind,
      goalFrom: need.kind,
      signals: { [need.kind]: 1 },
      ...(need.tool !== undefined ? { tool: need.tool } : {}),
      attempts: 0,
      updatedAt: this.options.now.toISOString(),
    };
    proposal.state = openState(proposal, this.options.confirmSessions);
    this.list.push(proposal);
    this.#terms.set(proposal.id, terms);
    this.#keys.set(proposal.id, new Set([turnKey(evidence)]));
    return proposal;
  }

  /** A need joins `target`: counted once per turn and session, its evidence kept (the newest), its words the goal when they rank higher. */
  absorb(target: Proposal, need: Need, kind: ProposalKind, terms: NeedTerms, time: string): void {
    target.signals[need.kind] = (target.signals[need.kind] ?? 0) + 1;
    this.#count(target, { session: need.session, turn: need.turn, quote: need.quote, source: need.source });
    if (time > target.lastSeen) target.lastSeen = time;
    if (time < target.firstSeen) target.firstSeen = time;
    if (GOAL_RANK[need.kind] > GOAL_RANK[target.goalFrom] && (target.state === "pending" || target.state === "unconfirmed")) {
      target.goal = need.goal;
      target.goalFrom = need.kind;
      this.#terms.set(target.id, terms);
    }
    if (need.tool !== undefined && target.tool === undefined && kind === "build") target.tool = need.tool;
    // A failed build gets another try when the need comes back, a few times; an unconfirmed one may be confirmed now.
    if ((target.state === "failed" && target.attempts < MAX_ATTEMPTS && target.kind === "build") || target.state === "unconfirmed")
      target.state = openState(target, this.options.confirmSessions);
    target.updatedAt = this.options.now.toISOString();
  }

  /**
   * Counts a turn once, by its one source (raised to the weightier one when the turn is seen again, so that the
   * sources add up to the count), and a session once.
   */
  #count(target: Proposal, evidence: Proposal["evidence"][number] & { source: NeedSource }): void {
    const seen = this.#keys.get(target.id) ?? new Set<string>();
    this.#keys.set(target.id, seen);
    const { sources } = target;
    if (seen.has(turnKey(evidence))) {
      const kept = target.evidence.find((entry) => turnKey(entry) === turnKey(evidence));
      if (kept?.source !== undefined && SOURCE_RANK[evidence.source] > SOURCE_RANK[kept.source]) {
        sources[kept.source] = Math.max(0, (sources[kept.source] ?? 0) - 1);
        if (sources[kept.source] === 0) delete sources[kept.source];
        sources[evidence.source] = (sources[evidence.source] ?? 0) + 1;
        Object.assign(kept, evidence);
      }
      return;
    }
    seen.add(turnKey(evidence));
    sources[evidence.source] = (sources[evidence.source] ?? 0) + 1;
    target.count += 1;
    target.evidence = [...target.evidence, evidence].slice(-MAX_EVIDENCE);
    const key = sessionKey(evidence.session);
    if (!target.seenIn.includes(key)) {
      target.sessions += 1;
      target.seenIn = [...target.seenIn, key].slice(-MAX_SEEN_SESSIONS);
    }
  }
}

/**
 * Merges `needs` into `proposals` (not changed; a new list is returned). `now` bounds times from the future.
 * `meaning` gives the embeddings and the model that judge what the words cannot.
 */
export async function mergeNeeds(proposals: readonly Proposal[], needs: readonly Need[], options: MergeOptions): Promise<MergeOutcome> {
  const now = options.now.toISOString();
  const set = new ProposalSet(proposals, options);
  const created: string[] = [];
  const touched = new Set<string>();
  let merged = 0;
  for (const need of needs) {
    const time = need.time.localeCompare(now) > 0 ? now : need.time;
    const kind = kindOfNeed(need);
    const terms = needTerms(need.goal);
    const target = await set.target(need, kind, terms);
    if (target) {
      set.absorb(target, need, kind, terms, time);
      merged += 1;
      touched.add(target.id);
    } else {
      const proposal = set.create(need, kind, terms, time);
      created.push(proposal.id);
      touched.add(proposal.id);
    }
  }
  return { proposals: set.list, created, merged, touched };
}

/** The most-needed first: seen in most sessions, then most recently, then most often, then longest known, then by id. */
export function byNeed(a: Proposal, b: Proposal): number {
  return (
    b.sessions - a.sessions ||
    b.lastSeen.localeCompare(a.lastSeen) ||
    b.count - a.count ||
    a.firstSeen.localeCompare(b.firstSeen) ||
    a.id.localeCompare(b.id)
  );
}
