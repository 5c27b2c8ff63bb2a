import { useState } from "preact/hooks";
import { postJson, webApi } from "../api.ts";
import { ApiError } from "../page-key.ts";
import type { useRoom } from "./use-room.ts";

/** The title of a command's answer: its name, capitalised (`/output` → Output). */
const titleOf = (command: string) => `${command.slice(0, 1).toUpperCase()}${command.slice(1)}`;

/**
 * What the message box's lines do: a message is sent to the room; a line that starts with `/` is the server's to read
 * (the room's one interpreter), whose answer is said in a box (`said`) or, when it did not do what it was asked, as the
 * room's problem. `fail` says an error the same way.
 */
export function useRoomLine(session: string | undefined, room: ReturnType<typeof useRoom>) {
  const [said, setSaid] = useState<{ title: string; body: string } | undefined>(undefined);
  const [problem, setProblem] = useState<string | undefined>(undefined);
  const fail = (error: unknown) => setProblem(error instanceof ApiError || error instanceof Error ? error.message : String(error));
  const run = async (line: string) => {
    try {
      // It may still be a message after all (//text).
      const read = line.trimStart().startsWith("/")
        ? await postJson(`/v1/sessions/${encodeURIComponent(session ?? "")}/command`, { line }, (await webApi()).webApiSchemas().CommandAnswer)
        : ({ type: "message", text: line } as const);
      if (read.type === "message") await room.send(read.text);
      else if (read.type === "answer" && read.ok) setSaid({ title: titleOf(read.command), body: read.lines.join("\n") });
      else if (read.type === "answer") setProblem(read.lines.join("\n"));
    } catch (error) {
      fail(error);
    }
  };
  const submit = (line: string): boolean => {
    setProblem(undefined);
    if (session === undefined || room.connection === "loading") {
      setProblem("the room is still opening; send again in a moment.");
      return false;
    }
    void run(line);
    return true;
  };
  return { said, closeSaid: () => setSaid(undefined), problem, fail, submit };
}
