// Needs that mean the same thing become one proposal. A need that names a tool (a missing tool, a failing one)
// joins the proposal about that tool; any other joins the proposal whose goal is most alike (needSimilarity at or
// above SAME_NEED, or embeddings' cosine at or above SAME_NEED_COSINE when the caller has them), the oldest on a tie;
// else it starts a proposal. The same turn seen twice (a request and the reply that could not meet it, or a
// re-read after a crash) counts once. Deterministic: the same needs in the same order give the same proposals.
import { createHash } from "node:crypto";
import { type NeedTerms, needKey, needSimilarity, needTerms, SAME_NEED, SAME_NEED_COSINE } from "../registry/need-similarity.ts";
import { MAX_ATTEMPTS, MAX_EVIDENCE, type NeedKind, type Proposal, type ProposalKind } from "./proposal.ts";
import type { Need } from "./room-needs.ts";

/** Which signal's words make the better goal: a person's own words first, a tool's name last. */
const GOAL_RANK: Record<NeedKind, number> = {
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

/** Optional vectors of goals (an embedding server's), by goal text. */
export type GoalVectors = ReadonlyMap<string, Float32Array>;

/** A stable id for a new proposal: `p` and hex of its goal's terms, longer when taken. */
function proposalId(goal: string, taken: ReadonlySet<string>): string {
  const hash = createHash("sha256")
    .update(needKey(needTerms(goal)) || goal)
    .digest("hex");
  for (let length = 10; length <= 16; length += 1) {
    const id = `p${hash.slice(0, length)}`;
    if (!taken.has(id)) return id;
  }
  for (let suffix = 0; ; suffix += 1) {
    const id = `p${createHash("sha256").update(`${hash}${suffix}`).digest("hex").slice(0, 16)}`;
    if (!taken.has(id)) return id;
  }
}

/** A need's evidence key: one turn of one session counts once per proposal. */
const evidenceKey = (evidence: { session: string; turn: string }) => `${evidence.session}\u0000${evidence.turn}`;

/** How merging weighs goals: the words, and embeddings' cosine when the caller has vectors. */
type MergeOptions = { now: Date; vectors?: GoalVectors; cosine?: (a: Float32Array, b: Float32Array) => number };

/** The proposals being merged into: copies of the given ones, with each one's terms and evidence keys at hand. */
class ProposalSet {
  readonly list: Proposal[];
  readonly #terms: Map<string, NeedTerms>;
  readonly #keys: Map<string, Set<string>>;

  constructor(
    proposals: readonly Proposal[],
    readonly options: MergeOptions,
  ) {
    this.list = proposals.map((proposal) => ({ ...proposal, evidence: [...proposal.evidence], signals: { ...proposal.signals } }));
    this.#terms = new Map(this.list.map((proposal) => [proposal.id, needTerms(proposal.goal)]));
    this.#keys = new Map(this.list.map((proposal) => [proposal.id, new Set(proposal.evidence.map(evidenceKey))]));
  }

  #similarity(proposal: Proposal, need: Need, terms: NeedTerms): number {
    const lexical = needSimilarity(this.#terms.get(proposal.id) ?? needTerms(proposal.goal), terms);
    const a = this.options.vectors?.get(proposal.goal);
    const b = this.options.vectors?.get(need.goal);
    if (a && b && this.options.cosine && this.options.cosine(a, b) >= SAME_NEED_COSINE) return Math.max(lexical, 1);
    return lexical;
  }

  /** The proposal a need joins: the one about its tool, else the most alike to build; then whatever carries that one on. */
  target(need: Need, kind: ProposalKind, terms: NeedTerms): Proposal | undefined {
    let target =
      need.tool === undefined
        ? undefined
        : this.list.find((proposal) => proposal.tool === need.tool && proposal.kind === kind && proposal.state !== "promoted");
    if (!target && kind === "build") {
      let best = 0;
      for (const proposal of this.list) {
        if (proposal.kind !== "build") continue;
        const score = this.#similarity(proposal, need, terms);
        if (score >= SAME_NEED && score > best + 1e-9) {
          best = score;
          target = proposal;
        }
      }
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

  /** A new pending proposal for a need no other is like. */
  create(need: Need, kind: ProposalKind, terms: NeedTerms, time: string): Proposal {
    const evidence = { session: need.session, turn: need.turn, quote: need.quote };
    const proposal: Proposal = {
      id: proposalId(need.goal, new Set(this.list.map((entry) => entry.id))),
      goal: need.goal,
      evidence: [evidence],
      count: 1,
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
    this.list.push(proposal);
    this.#terms.set(proposal.id, terms);
    this.#keys.set(proposal.id, new Set([evidenceKey(evidence)]));
    return proposal;
  }

  /** A need joins `target`: counted once per turn, its evidence kept (the newest), its words the goal when they rank higher. */
  absorb(target: Proposal, need: Need, kind: ProposalKind, terms: NeedTerms, time: string): void {
    const evidence = { session: need.session, turn: need.turn, quote: need.quote };
    target.signals[need.kind] = (target.signals[need.kind] ?? 0) + 1;
    const seen = this.#keys.get(target.id) ?? new Set<string>();
    if (!seen.has(evidenceKey(evidence))) {
      seen.add(evidenceKey(evidence));
      this.#keys.set(target.id, seen);
      target.count += 1;
      target.evidence = [...target.evidence, evidence].slice(-MAX_EVIDENCE);
    }
    if (time > target.lastSeen) target.lastSeen = time;
    if (time < target.firstSeen) target.firstSeen = time;
    if (GOAL_RANK[need.kind] > GOAL_RANK[target.goalFrom] && target.state === "pending") {
      target.goal = need.goal;
      target.goalFrom = need.kind;
      this.#terms.set(target.id, terms);
    }
    if (need.tool !== undefined && target.tool === undefined && kind === "build") target.tool = need.tool;
    // A failed build gets another try when the need comes back, a few times.
    if (target.state === "failed" && target.attempts < MAX_ATTEMPTS && target.kind === "build") target.state = "pending";
    target.updatedAt = this.options.now.toISOString();
  }
}

/**
 * Merges `needs` into `proposals` (not changed; a new list is returned). `now` bounds times from the future.
 * `vectors`, when given, holds an embedding of each goal.
 */
export function mergeNeeds(proposals: readonly Proposal[], needs: readonly Need[], options: MergeOptions): MergeOutcome {
  const now = options.now.toISOString();
  const set = new ProposalSet(proposals, options);
  const created: string[] = [];
  const touched = new Set<string>();
  let merged = 0;
  for (const need of needs) {
    const time = need.time.localeCompare(now) > 0 ? now : need.time;
    const kind = kindOfNeed(need);
    const terms = needTerms(need.goal);
    const target = set.target(need, kind, terms);
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

/** The most-needed first: seen most often, then most recently, then longest known, then by id. */
export function byNeed(a: Proposal, b: Proposal): number {
  return b.count - a.count || b.lastSeen.localeCompare(a.lastSeen) || a.firstSeen.localeCompare(b.firstSeen) || a.id.localeCompare(b.id);
}
