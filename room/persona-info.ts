import { z } from "zod";
import { onFirstUse } from "../concurrency/on-first-use.ts";

/**
 * A persona as the room shows it (`Room.personas()`, serve's `GET /v1/sessions/:id`): its model, server and offered
 * tools. Made on first use: only serve's session answer is checked against it.
 */
export const personaInfoSchema = onFirstUse(() =>
  z.object({
    name: z.string(),
    kind: z.string(),
    model: z.string(),
    /** Where its model runs, as org shows it (no credentials). */
    server: z.string(),
    tools: z.array(z.string()),
    /** The policy of each tool in `tools`: "allow" runs it, "ask" asks first. */
    policies: z.record(z.string(), z.enum(["allow", "ask"])),
    color: z.string().optional(),
    /** Its model's window and where it came from (`LanguageModel.window`), where the answer had it asked (serve's session answer). */
    window: z.object({ tokens: z.number(), source: z.string(), detail: z.string().optional() }).optional(),
  }),
);
export type PersonaInfo = z.infer<ReturnType<typeof personaInfoSchema>>;
