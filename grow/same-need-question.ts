// The question grow puts to the model when two needs (or a need and what a tool does) are close but not certain:
// would one tool do both? It offers exactly one tool, `same_need` {"same": boolean}; an answer it cannot use twice, a
// server that does not answer, or the run's budget spent leave the question to the words (undefined). Each pair is
// asked once: an answer is remembered (`SameNeedAnswers`, kept with the proposals) by what it rested on, the model and
// the two texts as it read them, and given again in every later run without asking, so the same inputs give the same
// answer and a decision holds until one of them changes. A run asks at most MAX_QUESTIONS new ones.
import { z } from "zod";
import { ChatError } from "../llm/chat-errors.ts";
import type { LanguageModel } from "../llm/language-model.ts";
import { askForOneCall, NoUsableCallError } from "../personas/one-tool-call.ts";
import type { SameNeedAnswers } from "./grow-state.ts";
import { oneLine } from "../security/terminal-sanitizer.ts";

/** The one tool the question offers. */
export const SAME_NEED_TOOL = "same_need";

// "yes", "true" as strings too: what a small model writes for a boolean.
const Same = z.union([z.boolean(), z.enum(["true", "false", "yes", "no"]).transform((word) => word === "true" || word === "yes")]);
const SameNeedArguments = z.object({ same: Same });

const SYSTEM =
  "You are listener, the part of org that hears what its chat rooms could not do. You judge whether two needs " +
  "would be met by one small tool. Answer only by calling same_need.";

/** Questions one run may ask. */
const MAX_QUESTIONS = 60;
/** Answers remembered at most: past them the oldest are forgotten (and asked again if they come up). */
const MAX_REMEMBERED = 4_000;

/** What the questions did, for the report. */
export type SameNeedQuestions = {
  ask: (a: string, b: string) => Promise<boolean | undefined>;
  asked: () => number;
  /** Why questions were left to the words, once each reason. */
  degraded: string[];
};

/** The question as the model reads it: the two jobs on lines of their own (`A: …`, `B: …`), in a fixed order. */
function questionText(a: string, b: string): string {
  const [first, second] = [oneLine(a, 300), oneLine(b, 300)].sort();
  return [
    "Would one small tool do both of these jobs, whatever the words: the same input turned into the same output, the same way round?",
    `A: ${first}`,
    `B: ${second}`,
    `Call ${SAME_NEED_TOOL} with same: true if one tool would do both, false if they are different tools.`,
  ].join("\n");
}

/** What an answer rests on, as a key: the model and the question it read. */
function answerKey(modelId: string, question: string): string {
  return new Bun.CryptoHasher("sha256").update(`${modelId}\0${question}`).digest("hex").slice(0, 16);
}

/** `remembered` with its oldest answers forgotten past MAX_REMEMBERED (in place). */
function forgetOldest(remembered: SameNeedAnswers): void {
  const keys = Object.keys(remembered);
  if (keys.length <= MAX_REMEMBERED) return;
  const oldest = keys.sort((x, y) => (remembered[x]?.at ?? "").localeCompare(remembered[y]?.at ?? "")).slice(0, keys.length - MAX_REMEMBERED);
  for (const key of oldest) delete remembered[key];
}

/**
 * Asks `model` through `signal` (the run's deadline); after a server failure or the deadline, no more questions are
 * asked. `remembered` (the state's, changed in place) gives the answers of earlier runs and keeps this run's.
 */
export function sameNeedQuestions(
  model: LanguageModel | undefined,
  signal: AbortSignal,
  remembered: SameNeedAnswers = {},
  now = () => new Date(),
): SameNeedQuestions {
  const answers = new Map<string, boolean | undefined>();
  const degraded: string[] = [];
  let asked = 0;
  let stopped = false;
  const ask = async (a: string, b: string): Promise<boolean | undefined> => {
    const question = questionText(a, b);
    const key = JSON.stringify([a, b].sort());
    if (answers.has(key)) return answers.get(key);
    const kept = model && Object.hasOwn(remembered, answerKey(model.modelId, question)) ? remembered[answerKey(model.modelId, question)] : undefined;
    if (kept) {
      answers.set(key, kept.same);
      return kept.same;
    }
    if (!model || stopped || signal.aborted || asked >= MAX_QUESTIONS) return undefined;
    asked += 1;
    let answer: boolean | undefined;
    try {
      const result = await askForOneCall({
        model,
        tool: { name: SAME_NEED_TOOL, description: "Say whether one small tool would do both jobs.", parameters: SameNeedArguments },
        messages: [
          { role: "system", content: SYSTEM },
          { role: "user", content: question },
        ],
        retries: 1,
        bareArguments: true,
        signal,
      });
      answer = result.value.same;
    } catch (error) {
      if (!(error instanceof NoUsableCallError) && !(error instanceof ChatError)) throw error;
      const why =
        error instanceof NoUsableCallError
          ? `the model gave no usable ${SAME_NEED_TOOL} call`
          : `the model ${model.modelId} did not answer ${SAME_NEED_TOOL} (${oneLine(error.message, 200)})`;
      if (!degraded.includes(why)) degraded.push(why);
      if (error instanceof ChatError) stopped = true;
    }
    answers.set(key, answer);
    if (answer !== undefined) {
      remembered[answerKey(model.modelId, question)] = { same: answer, at: now().toISOString() };
      forgetOldest(remembered);
    }
    return answer;
  };
  return { ask, asked: () => asked, degraded };
}
