'use client';
import { useFormStatus } from 'react-dom';

export function SubmitButton({ children, className = 'btn btn-primary', title, name, value, label }: {
  children: React.ReactNode;
  className?: string;
  title?: string;
  name?: string;
  value?: string;
  /** Accessible name when the visible text alone is ambiguous (should contain the visible text). */
  label?: string;
}) {
  const { pending } = useFormStatus();
  return (
    <button type="submit" className={className} disabled={pending} aria-busy={pending || undefined} title={title} aria-label={label} name={name} value={value}>
      {children}
    </button>
  );
}
