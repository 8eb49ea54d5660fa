import { useEffect, useRef, useState, type InputHTMLAttributes } from 'react';

/** Props of `DebouncedInput`: an input's, with `value` and `onCommit` instead of `onChange`. */
export type DebouncedInputProps = Omit<InputHTMLAttributes<HTMLInputElement>, 'value' | 'onChange'> & {
  value: string;
  onCommit: (v: string) => void;
  /** quiet time before typing is committed, in ms (default 400) */
  delay?: number;
};

/**
 * A text input that commits what is typed after a pause (so filters do not refetch per key),
 * at once on Enter, and clears on Escape.
 */
export function DebouncedInput({ value, onCommit, delay = 400, ...rest }: DebouncedInputProps) {
  const [text, setText] = useState(value);
  const commitRef = useRef(onCommit);
  commitRef.current = onCommit;
  useEffect(() => setText(value), [value]);
  useEffect(() => {
    if (text === value) return;
    const t = setTimeout(() => commitRef.current(text), delay);
    return () => clearTimeout(t);
  }, [text, value, delay]);
  return (
    <input
      {...rest}
      value={text}
      onChange={(e) => setText(e.target.value)}
      onKeyDown={(e) => {
        if (e.key === 'Enter') commitRef.current(text);
        if (e.key === 'Escape') {
          setText('');
          commitRef.current('');
        }
      }}
    />
  );
}
