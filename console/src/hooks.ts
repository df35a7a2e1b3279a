import { useEffect, useState } from 'preact/hooks';

/** A value loaded once, and again whenever `deps` change; `reload` loads it again by hand. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]) {
  const [state, setState] = useState<{ value?: T; error?: string; loading: boolean }>({ loading: true });
  const [round, setRound] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (value) => live && setState({ value, loading: false }),
      (err: unknown) =>
        live && setState({ error: err instanceof Error ? err.message : String(err), loading: false }),
    );
    return () => {
      live = false;
    };
  }, [...deps, round]);
  return { ...state, reload: () => setRound((r) => r + 1) };
}

/** Re-renders every `ms`: for what changes with the clock (a live duration). */
export function useTick(ms: number): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return now;
}

/**
 * A form's fields as state, set again from `initial` whenever `key` changes. Inputs bound to it keep what the user
 * typed across re-renders (a list arriving mid-typing); Preact would reset a `value` bound to the URL alone.
 */
export function useFields(initial: () => Record<string, string>, key: string) {
  const [fields, setFields] = useState(initial);
  useEffect(() => setFields(initial()), [key]);
  const bind = (name: string) => ({
    name,
    value: fields[name] ?? '',
    onInput: (event: Event) => {
      const value = (event.currentTarget as HTMLInputElement | HTMLSelectElement).value;
      setFields((f) => ({ ...f, [name]: value }));
    },
  });
  return { fields, bind };
}
