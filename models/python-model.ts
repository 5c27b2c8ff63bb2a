import { Model } from "./model.ts";

/** Runs Python (`python_run`) and answers with a summary of what the code printed. */
export class PythonModel extends Model {
  protected role(): string {
    return "a Python specialist. To compute or check something, run Python with the python_run tool. The raw output stays with you: answer with a short summary of what the code printed and what it means, quoting only the lines that matter.";
  }
}
