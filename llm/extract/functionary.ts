// Functionary v3.2: recipient lines. `>>>get_weather\n{"city": "Paris"}` is a call; `>>>all\n…` is text.
import { isRecord, isToolName } from "./call-shape.ts";
import type { Format } from "./scan-context.ts";

const RECIPIENT = />>>([A-Za-z0-9_.:-]{1,128})[ \t]*\r?\n/y;

export const functionary: Format = {
  name: "functionary",
  trigger: String.raw`(?<![^\n])>>>`,
  read(context, at) {
    RECIPIENT.lastIndex = at;
    const recipient = RECIPIENT.exec(context.text);
    const name = recipient?.[1];
    if (!recipient || !isToolName(name) || name === "all") return undefined;
    const args = context.reader.read(context.skipSpace(at + recipient[0].length));
    if (!args || !isRecord(args.value)) return undefined;
    return { start: at, end: args.end, calls: [{ name, arguments: args.value }] };
  },
};
