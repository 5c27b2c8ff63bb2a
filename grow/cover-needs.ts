// A need an existing tool answers is `covered` by it, built for nobody: a promoted tool, or a candidate's that waits for
// `org promote` (a tool the toolsmith built in chat, say). A proposal that names a tool (a call of a missing tool) is
// covered by whatever holds that name; any other by the registry's best hits for its goal, each judged the same way
// needs are merged (the words, the embeddings' cosine, the model when close but not certain). When nothing here answers,
// the team's offers a pull verified (`team-offers.ts`) are asked the same way: one that answers covers the need, with
// what to run to take it.
import { generatedToolNames } from "../config/tool-names.ts";
import { candidateTools } from "../generated-tools/tool-catalog.ts";
import { liveCandidateToolNames } from "../fitness/candidate-states.ts";
import type { RepoGit } from "../git/repo-git.ts";
import type { Embedder } from "../registry/ollama-embedder.ts";
import { needTerms } from "../registry/need-similarity.ts";
import { type ToolHit, ToolRegistry } from "../registry/tool-registry.ts";
import { goalVectors, withQueryVectors } from "./goal-vectors.ts";
import { openState } from "./merge-needs.ts";
import type { Proposal, ProposalOffer } from "./proposal.ts";
import { type MeaningJudge, sameMeaningAmong } from "./same-meaning.ts";
import type { ShareHome } from "../share/share-home.ts";
import { offerRegistry, type TeamOffer, teamOffers } from "./team-offers.ts";

/** Registry hits weighed per need. */
const HITS = 5;

/** What answers a need: the tool, and the candidate branch it waits on when it is not promoted, or the team's offer of it. */
export type Cover = { tool: string; candidate?: string; offer?: ProposalOffer };

/** The team's offers verified here, and the registry over them (`team-offers.ts`). */
export type OfferCover = { registry: ToolRegistry; offers: readonly TeamOffer[] };

/** What the cover check is given: the registry, the tools that hold a name, and how meaning is judged. */
export type CoverContext = {
  registry: ToolRegistry;
  /** Promoted tools by name. */
  promoted: ReadonlySet<string>;
  /** Live candidates' tools (untested, passed, stale: a build that may still be promoted), by name: their branch. */
  candidates: ReadonlyMap<string, string>;
  /** Searched when no tool here answers: a need one covers is not built (absent: no share remote, grow alone). */
  offers?: OfferCover;
  embedder?: Embedder;
  meaning: MeaningJudge;
  confirmSessions: number;
  now: string;
  notes: string[];
  signal: AbortSignal;
};

/** A hit that still answers: promoted, or the live candidate of that name (not a failed or promoted branch's copy). */
function answers(hit: ToolHit, context: CoverContext): boolean {
  return hit.origin === "promoted" ? context.promoted.has(hit.name) : hit.branch !== undefined && context.candidates.get(hit.name) === hit.branch;
}

const toolText = (hit: ToolHit) => `${hit.name.replace(/_/g, " ")}: ${hit.description}`;

/** Each proposal's hits that answer, with the texts' vectors added to the judge's when an embedder answers. */
async function hitsOf(
  goals: readonly string[],
  context: CoverContext,
): Promise<{ hits: Map<string, ToolHit[]>; offerHits: Map<string, ToolHit[]>; meaning: MeaningJudge }> {
  const hits = new Map<string, ToolHit[]>();
  const offerHits = new Map<string, ToolHit[]>();
  const offered = new Set(context.offers?.offers.map((offer) => offer.tool));
  // The goals' own vectors (asked for in one batch while merging) answer the registry's query embeddings.
  const embedder = context.embedder && withQueryVectors(context.embedder, context.meaning.vectors);
  for (const goal of new Set(goals)) {
    const found = await context.registry.search(goal, { limit: HITS, ...(embedder ? { embedder } : {}), signal: context.signal });
    hits.set(
      goal,
      found.hits.filter((hit) => answers(hit, context)),
    );
    if (!context.offers) continue;
    const teams = await context.offers.registry.search(goal, { limit: HITS, ...(embedder ? { embedder } : {}), signal: context.signal });
    offerHits.set(
      goal,
      teams.hits.filter((hit) => offered.has(hit.name)),
    );
  }
  if (!context.meaning.vectors) return { hits, offerHits, meaning: context.meaning };
  const texts = [...new Set([...hits.values(), ...offerHits.values()].flat().map(toolText))];
  const vectors = await goalVectors(context.embedder, texts, context.signal, context.notes);
  return { hits, offerHits, meaning: { ...context.meaning, vectors: new Map([...context.meaning.vectors, ...(vectors ?? [])]) } };
}

/** The tool that covers `proposal`: the holder of the name it names, else the hit that means its goal. */
async function coverOf(proposal: Proposal, hits: readonly ToolHit[], meaning: MeaningJudge, context: CoverContext): Promise<Cover | undefined> {
  const named = proposal.tool;
  if (named !== undefined) {
    if (context.promoted.has(named)) return { tool: named };
    const branch = context.candidates.get(named);
    if (branch !== undefined) return { tool: named, candidate: branch };
  }
  const meant = (hit: ToolHit) => ({ text: toolText(hit), terms: needTerms(`${hit.name} ${hit.description}`) });
  const hit = await sameMeaningAmong({ text: proposal.goal, terms: needTerms(proposal.goal) }, hits, meant, meaning, "answers");
  if (!hit) return undefined;
  return hit.origin === "promoted" || hit.branch === undefined ? { tool: hit.name } : { tool: hit.name, candidate: hit.branch };
}

/** What a cover records of an offer (the newest of that tool among those verified here). */
function offerCover(offers: readonly TeamOffer[], tool: string): Cover | undefined {
  const offer = offers.filter((entry) => entry.tool === tool).sort((a, b) => b.id.localeCompare(a.id))[0];
  if (!offer) return undefined;
  const { id, signer, fingerprint, run } = offer;
  return { tool, offer: { id, tool, signer, fingerprint, run } };
}

/** The team's offer that covers `proposal` when no tool here does: of the name it names, else the offer that means its goal. */
async function teamCoverOf(proposal: Proposal, hits: readonly ToolHit[], meaning: MeaningJudge, offers: readonly TeamOffer[]) {
  if (proposal.tool !== undefined) {
    const named = offerCover(offers, proposal.tool);
    if (named) return named;
  }
  const meant = (hit: ToolHit) => ({ text: toolText(hit), terms: needTerms(`${hit.name} ${hit.description}`) });
  const hit = await sameMeaningAmong({ text: proposal.goal, terms: needTerms(proposal.goal) }, hits, meant, meaning, "answers");
  return hit ? offerCover(offers, hit.name) : undefined;
}

/** Whether what covers `proposal` still holds its name: promoted, or the same live candidate. */
function stillAnswers(proposal: Proposal, context: CoverContext): boolean {
  const tool = proposal.coveredBy;
  if (tool === undefined) return false;
  if (proposal.offer) return context.offers?.offers.some((offer) => offer.id === proposal.offer?.id && offer.tool === tool) ?? false;
  return proposal.candidate === undefined ? context.promoted.has(tool) : context.candidates.get(tool) === proposal.candidate;
}

/** Whether the cover check looks at a proposal: one to build that nobody works on (pending, unconfirmed, covered). */
export function openToCover(proposal: Proposal): boolean {
  return proposal.kind === "build" && ["pending", "unconfirmed", "covered"].includes(proposal.state);
}

/**
 * Marks each of `ids` (proposals to build that nobody works on: pending, unconfirmed, covered) covered by the tool
 * that answers it, or open again when what covered it is gone (rolled back, failed, pruned). Returns the ids newly
 * covered.
 */
export async function coverProposals(proposals: Proposal[], ids: ReadonlySet<string>, context: CoverContext): Promise<string[]> {
  const open = proposals.filter((proposal) => ids.has(proposal.id) && openToCover(proposal));
  if (open.length === 0) return [];
  // No tool holds a name: nothing covers, and what covered is gone.
  const { hits, offerHits, meaning } =
    context.promoted.size + context.candidates.size + (context.offers?.offers.length ?? 0) === 0
      ? { hits: new Map<string, ToolHit[]>(), offerHits: new Map<string, ToolHit[]>(), meaning: context.meaning }
      : await hitsOf(
          open.map((proposal) => proposal.goal),
          context,
        );
  const covered: string[] = [];
  for (const proposal of open) {
    const cover =
      (await coverOf(proposal, hits.get(proposal.goal) ?? [], meaning, context)) ??
      (context.offers ? await teamCoverOf(proposal, offerHits.get(proposal.goal) ?? [], meaning, context.offers.offers) : undefined);
    if (cover) {
      if (
        proposal.state !== "covered" ||
        proposal.coveredBy !== cover.tool ||
        proposal.candidate !== cover.candidate ||
        proposal.offer?.id !== cover.offer?.id
      )
        covered.push(proposal.id);
      proposal.state = "covered";
      proposal.coveredBy = cover.tool;
      if (cover.candidate) proposal.candidate = cover.candidate;
      else delete proposal.candidate;
      if (cover.offer) proposal.offer = cover.offer;
      else delete proposal.offer;
      if (meaning.vectors) proposal.coveredWithEmbeddings = true;
      else delete proposal.coveredWithEmbeddings;
    } else if (proposal.state === "covered" && proposal.coveredWithEmbeddings && !meaning.vectors && stillAnswers(proposal, context)) {
      // Judged with the embeddings before and without them now (their server gone): what the cover rested on (the goal,
      // the tool that still holds its name) is unchanged, so it holds.
      continue;
    } else if (proposal.state === "covered") {
      delete proposal.coveredBy;
      delete proposal.coveredWithEmbeddings;
      delete proposal.candidate;
      delete proposal.offer;
      proposal.state = openState(proposal, context.confirmSessions);
    } else continue;
    proposal.updatedAt = context.now;
  }
  return covered;
}

/** What checking cover needs beyond the proposals: the repository whose tools hold names, and how meaning is judged. */
export type CoverCheck = Pick<CoverContext, "embedder" | "meaning" | "confirmSessions" | "now" | "notes" | "signal"> & {
  repoDir: string;
  git: RepoGit;
  /** The person's org folder: with a share remote set there, the team's offers verified here are searched too. */
  shareHome?: ShareHome;
};

/**
 * Checks the proposals of `ids` against what holds a tool's name now (promoted on main, a live candidate), through
 * the registry over main and the candidates, refreshed first; returns the ids newly covered. Every run checks every
 * open proposal, and each build its own proposal again before it starts: a candidate made since (in chat, or by an
 * earlier build of the run) covers it whether or not anything new was said of it.
 */
export async function checkCover(proposals: Proposal[], ids: ReadonlySet<string>, check: CoverCheck): Promise<string[]> {
  const { repoDir, git, signal, notes } = check;
  const promoted = new Set(generatedToolNames([repoDir]));
  const candidates = new Map(
    (await candidateTools(git, liveCandidateToolNames, signal)).flatMap((entry) =>
      entry.status === "candidate" ? [[entry.name, entry.branch] as const] : [],
    ),
  );
  const { registry, notices } = ToolRegistry.open(repoDir);
  for (const notice of notices) if (!notes.includes(`registry: ${notice}`)) notes.push(`registry: ${notice}`);
  const offers = check.shareHome ? await teamOffersOf(check.shareHome, check, notes) : [];
  const team = offers.length > 0 ? offerRegistry(repoDir, offers) : undefined;
  for (const notice of team?.notices ?? []) if (!notes.includes(`offers' registry: ${notice}`)) notes.push(`offers' registry: ${notice}`);
  try {
    await registry.refresh(signal);
    await team?.registry.refresh(signal);
    const { embedder, meaning, confirmSessions, now } = check;
    return await coverProposals(proposals, ids, {
      registry,
      promoted,
      candidates,
      ...(team ? { offers: { registry: team.registry, offers } } : {}),
      ...(embedder && meaning.vectors ? { embedder } : {}),
      meaning,
      confirmSessions,
      now,
      notes,
      signal,
    });
  } finally {
    registry.close();
    team?.registry.close();
  }
}

/** The team's offers verified here; a share state that cannot be read is a note, and grow goes on alone. */
async function teamOffersOf(home: ShareHome, check: CoverCheck, notes: string[]): Promise<TeamOffer[]> {
  try {
    return await teamOffers(home, check.git, check.signal);
  } catch (error) {
    if (check.signal.aborted) throw error;
    const note = `the team's offers were not searched: ${error instanceof Error ? error.message : String(error)}`;
    if (!notes.includes(note)) notes.push(note);
    return [];
  }
}
