import { useState } from "preact/hooks";

/** `submit` says whether it took the line (the room may still be opening: then the line stays in the box). */
type ComposerProps = { submit: (line: string) => boolean; stop: () => void; running: boolean };

/** The message box: Enter (or Send) hands its line to `submit` and empties it; Stop stops the running replies. */
export function Composer({ submit, stop, running }: ComposerProps) {
  const [text, setText] = useState("");
  const send = () => {
    if (text.trim() !== "" && submit(text)) setText("");
  };
  return (
    <form
      class="composer"
      onSubmit={(event) => {
        event.preventDefault();
        send();
      }}
    >
      <textarea
        aria-label="Message"
        placeholder="Message the room — @persona to address one, /help for the commands"
        rows={2}
        value={text}
        onInput={(event) => setText(event.currentTarget.value)}
        onKeyDown={(event) => {
          if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
            event.preventDefault();
            send();
          }
        }}
      />
      <div class="composer-buttons">
        <button type="submit">Send</button>
        <button type="button" onClick={stop} aria-disabled={!running}>
          Stop
        </button>
      </div>
    </form>
  );
}

/** What a command said, in a box named after it (`Output output`), until it is closed. */
export function SaidBox({ said, close }: { said: { title: string; body: string }; close: () => void }) {
  return (
    <section class="said" aria-label={`${said.title} output`}>
      <div class="said-head">
        <strong>{said.title}</strong>
        <button type="button" onClick={close}>
          Close
        </button>
      </div>
      <pre>{said.body}</pre>
    </section>
  );
}
