import { useRef, useState } from 'preact/hooks';
import type { UserError } from '../api.ts';
import { useMutation } from '../hooks.ts';
import { locate } from '../json-locate.ts';
import { Button, Errors } from '../ui.tsx';

const SET_TSL = `mutation SetThingModel($input: SetThingModelInput!) {
  setThingModel(input: $input) { product { thingModel { tsl } } userErrors { code message field } }
}`;

/** The TSL as JSON; setThingModel's INVALID_TSL errors are listed with their path and selected in the text on click. */
export function TslEditor({ productKey, tsl, onSaved }: { productKey: string; tsl: unknown; onSaved: () => void }) {
  const [text, setText] = useState(() => JSON.stringify(tsl, null, 2));
  const [errors, setErrors] = useState<UserError[]>([]);
  const [parseError, setParseError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const area = useRef<HTMLTextAreaElement>(null);
  const m = useMutation(SET_TSL);
  const save = async () => {
    setSaved(false);
    let doc: unknown;
    try {
      doc = JSON.parse(text);
      setParseError(null);
    } catch (e) {
      return setParseError((e as Error).message);
    }
    const r = await m.run({ input: { productKey, tsl: doc } });
    if (!r) return;
    setErrors(r.setThingModel.userErrors);
    if (!r.setThingModel.userErrors.length) {
      setSaved(true);
      onSaved();
    }
  };
  // An error's field is ['input', 'tsl', ...path in the document]: find that place in the text.
  const docPath = (e: UserError) => {
    const i = e.field?.indexOf('tsl') ?? -1;
    return i >= 0 ? e.field!.slice(i + 1) : null;
  };
  const at = (e: UserError) => {
    const path = docPath(e);
    return path ? locate(text, path) : null;
  };
  const jump = (e: UserError) => {
    const loc = at(e);
    const el = area.current;
    if (!loc || !el) return;
    el.focus();
    el.setSelectionRange(loc.start, loc.end);
    const lineHeight = parseFloat(getComputedStyle(el).lineHeight) || 18;
    el.scrollTop = Math.max(0, (loc.line - 4) * lineHeight);
  };
  return (
    <div>
      <p class="muted">
        The whole TSL document (Alink format: properties, events, services). Saving validates it; each problem is shown
        with its place in the document.
      </p>
      <textarea
        ref={area}
        class="tsl-editor"
        name="tsl"
        spellcheck={false}
        value={text}
        rows={24}
        onInput={(e) => {
          setText(e.currentTarget.value);
          setSaved(false);
        }}
      />
      {parseError && <div class="alert">JSON: {parseError}</div>}
      {errors.length > 0 && (
        <div class="alert" data-testid="tsl-errors">
          {errors.map((e) => {
            const loc = at(e);
            const path = docPath(e)?.join('.') ?? '';
            // The message repeats the path as its prefix: show the path once, as the link.
            const message = path && e.message.startsWith(`${path}: `) ? e.message.slice(path.length + 2) : e.message;
            return (
              <div class="line-error" data-path={path}>
                <code>{e.code}</code>{' '}
                {path ? (
                  // biome-ignore lint/a11y/useValidAnchor: an in-page action styled and focusable as a link
                  <a href="#" onClick={(ev) => (ev.preventDefault(), jump(e))} title="Show in the editor">
                    {path}
                    {loc ? ` (line ${loc.line})` : ''}
                  </a>
                ) : null}
                {path ? ': ' : ' '}
                {message}
              </div>
            );
          })}
        </div>
      )}
      {m.error && <Errors errors={[m.error]} />}
      {saved && <div class="success">Thing model saved.</div>}
      <div class="actions" style="margin-top:10px">
        <Button kind="primary" onClick={save} busy={m.busy}>
          Save thing model
        </Button>
        <Button onClick={() => (setText(JSON.stringify(tsl, null, 2)), setErrors([]))}>Revert</Button>
      </div>
    </div>
  );
}
