/** What the last action said, announced to a screen reader. */
export function SaidLine({ said }: { said: { ok: boolean; text: string } | undefined }) {
  if (!said) return null;
  return (
    <pre class={`said-line ${said.ok ? "ok" : "bad"}`} role="status">
      {said.text}
    </pre>
  );
}

/** Why a view could not be read. */
export function Problem({ text }: { text: string | undefined }) {
  return text ? (
    <div class="error" role="alert">
      {text}
    </div>
  ) : null;
}
