import { z } from "zod";
import { defineTool } from "../tools/define-tool.ts";

/** The `echo` tool tests offer a model: it answers `echo: <text>`; `onRun` sees each text it was called with. */
export function echoTool(onRun: (text: string) => void = () => {}) {
  return defineTool("echo", {
    description: "Echoes its text back.",
    parameters: z.object({ text: z.string() }),
    async execute({ text }) {
      onRun(text);
      return `echo: ${text}`;
    },
  });
}
