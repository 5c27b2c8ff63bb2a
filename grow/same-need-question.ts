// The question grow puts to the model when two needs (or a need and what a tool does) are close but not certain:
// would one tool do both? It offers exactly one tool, `same_need` {"same": boolean}; an answer it cannot use twice, a
// server that does not answer, or the run's budget spent leave the question to the words (undefined). Each pair is
// asked once a run, and a run asks at most MAX_QUESTIONS.
import { z } from "zod";
import { ChatError } from "../llm/chat-errors.ts";
import type { LanguageModel } from "../llm/language-model.ts";
import { askForOneCall, NoUsableCallError } from "../models/one-tool-call.ts";

import { oneLine } from "../security/terminal-sanitizer.ts";

/** The one tool the question offers. */
export const SAME_NEED_TOOL = "same_need";

// "yes", "true" as strings too: what a small model writes for a boolean.
const Same = z.union([z.boolean(), z.enum(["true", "false", "yes", "no"]).transform((word) => word === "true" || word === "yes")]);
const SameNeedArguments = z.object({ same: Same });

const SYSTEM =
  "You are listener, the part of org that hears what its chat rooms could not do. You judge whether two needs would be met by one small tool. Answer only by calling same_need.";

/** Questions one run may ask. */
const MAX_QUESTIONS = 60;

/** What the questions did, for the report. */
export type SameNeedQuestions = {
  ask: (a: string, b: string) => Promise<boolean | undefined>;
  asked: () => number;
  /** Why questions were left to the words, once each reason. */
  degraded: string[];
};

/** The question as the model reads it: the two jobs on lines of their own (`A: …`, `B: …`). */
function questionText(a: string, b: string): string {
  return [
    "Would one small tool do both of these jobs, whatever the words: the same input turned into the same output, the same way round?",
    `A: ${oneLine(a, 300)}`,
    `B: ${oneLine(b, 300)}`,
    `Call ${SAME_NEED_TOOL} with same: true if one tool would do both, false if they are different tools.`,
  ].join("\n");
}

/** Asks `model` through `signal` (the run's deadline); after a server failure or the deadline, no more questions are asked. */
export function sameNeedQuestions(model: LanguageModel | undefined, signal: AbortSignal): SameNeedQuestions {
  const answers = new Map<string, boolean | undefined>();
  const degraded: string[] = [];
  let asked = 0;
  let stopped = false;
  const ask = async (a: string, b: string): Promise<boolean | undefined> => {
    const key = JSON.stringify([a, b].sort());
    if (answers.has(key)) return answers.get(key);
    if (!model || stopped || signal.aborted || asked >= MAX_QUESTIONS) return undefined;
    asked += 1;
    let answer: boolean | undefined;
    try {
      const result = await askForOneCall({
        model,
        tool: { name: SAME_NEED_TOOL, description: "Say whether one small tool would do both jobs.", parameters: SameNeedArguments },
        messages: [
          { role: "system", content: SYSTEM },
          { role: "user", content: questionText(a, b) },
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
    return answer;
  };
  return { ask, asked: () => asked, degraded };
}
