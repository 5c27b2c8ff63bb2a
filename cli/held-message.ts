import type { CredentialChoice } from "../room/room.ts";
import type { RoomMode } from "../room/room-mode.ts";
import { scanForSecrets, type SecretScan } from "../security/scan-for-secrets.ts";
import type { Style } from "./ansi.ts";
import { type CredentialAnswer, credentialQuestionLines, parseCredentialAnswer } from "./credential-question.ts";
import type { ReadResult } from "./line-editor/line-editor.ts";
import { type MisspeltMentions, misspeltMentions } from "./misspelt-mentions.ts";

/** How the interactive room asks about a held message: a line read at a prompt (not kept in history), and org's own lines. */
export type HoldQuestions = {
  /** Reads the answer: a line, or on a terminal one of `keys` alone. */
  ask(prompt: string, keys?: readonly string[]): Promise<ReadResult>;
  /** Whether a key of `keys` answers without Enter here; when not, the prompts say Enter is needed. */
  oneKey?: boolean;
  say(text: string, style?: Style): void;
  /** The credential question's prompt as the terminal shows it. */
  credentialPrompt: string;
};

/** What the questions need of the room: its mode and who is in it. */
type RoomPeople = { readonly mode: RoomMode; personas(): { name: string }[] };

/** In group mode a misspelt @name would send the message to everyone: what is wrong and the likely text; elsewhere undefined. */
export function groupMisspelling(room: RoomPeople, text: string): MisspeltMentions | undefined {
  if (room.mode.kind !== "group") return undefined;
  return misspeltMentions(
    text,
    room.personas().map((persona) => persona.name),
  );
}

/** Asks what to do with a message whose @name is misspelt: the text to send (corrected, or as written), or undefined when it stays unsent. */
export async function confirmMisspelt(misspelt: MisspeltMentions, text: string, questions: HoldQuestions): Promise<string | undefined> {
  questions.say(`· ${misspelt.problem}; the message is held.`, "yellow");
  const shown = misspelt.corrected.length > 60 ? `${misspelt.corrected.slice(0, 59)}…` : misspelt.corrected;
  const enter = questions.oneKey === false ? " (then Enter)" : "";
  const answer = await questions.ask(`send it as "${shown}"? [y]es / [n]o, to everyone as written${enter} / Enter: not sent › `, ["yes", "no"]);
  const choice = answer.type === "line" ? answer.text.trim().toLowerCase() : "";
  if (choice === "y" || choice === "yes") return misspelt.corrected;
  if (choice === "n" || choice === "no") return text;
  questions.say("· not sent; ↑ brings it back to edit.", "gray");
  return undefined;
}

/** The credential guard's question for a message that holds what looks like a key, asked again until the answer is one it knows. */
export async function askAboutCredentials(scan: SecretScan, questions: HoldQuestions): Promise<CredentialAnswer> {
  for (const line of credentialQuestionLines(scan)) questions.say(line, "yellow");
  for (;;) {
    const reply = await questions.ask(questions.credentialPrompt, ["redacted", "written", "edit"]);
    const answer = parseCredentialAnswer(reply.type === "line" ? reply.text : undefined);
    if (answer !== undefined) return answer;
    questions.say("Type r (or just Enter), w or e.", "gray");
  }
}

/**
 * The interactive room's `send`: a message with a misspelt @name (group mode) or with what looks like a credential is
 * held with a question first. Resolves to `{ edit }` when the message goes back on the line instead.
 */
export function sendHeld(
  room: RoomPeople & { send(text: string, options: { signal: AbortSignal; credentials: CredentialChoice }): Promise<unknown> },
  secrets: readonly string[],
  questions: HoldQuestions,
  idle: () => Promise<void>,
): (text: string, signal: AbortSignal) => Promise<{ edit: string } | undefined> {
  return async (text, signal) => {
    const misspelt = groupMisspelling(room, text);
    const chosen = misspelt ? await confirmMisspelt(misspelt, text, questions) : text;
    if (chosen === undefined) return undefined;
    const scan = scanForSecrets(chosen, secrets);
    const answer: CredentialAnswer = scan.kinds.length > 0 ? await askAboutCredentials(scan, questions) : "redact";
    if (answer === "edit") {
      questions.say("· not sent; your message is back on the line to edit.", "gray");
      return { edit: chosen };
    }
    const credentials: CredentialChoice = answer;
    await room.send(chosen, { signal, credentials });
    await idle();
    return undefined;
  };
}
