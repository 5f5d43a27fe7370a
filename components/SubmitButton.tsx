'use client';
import { useFormStatus } from 'react-dom';

export function SubmitButton({ children, className = 'btn btn-primary', title, name, value, label, disabled = false }: {
  children: React.ReactNode;
  className?: string;
  title?: string;
  name?: string;
  value?: string;
  /** Accessible name when the visible text alone is ambiguous (should contain the visible text). */
  label?: string;
  /** Not possible here (e.g. ↑ on the first rule); stays visible, dimmed, with its title. */
  disabled?: boolean;
}) {
  const { pending } = useFormStatus();
  return (
    <button type="submit" className={className} disabled={pending || disabled} aria-busy={pending || undefined} title={title} aria-label={label} name={name} value={value}>
      {children}
    </button>
  );
}
