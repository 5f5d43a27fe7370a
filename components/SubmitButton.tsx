'use client';
import { useFormStatus } from 'react-dom';

export function SubmitButton({ children, className = 'btn btn-primary', title, name, value }: {
  children: React.ReactNode;
  className?: string;
  title?: string;
  name?: string;
  value?: string;
}) {
  const { pending } = useFormStatus();
  return (
    <button type="submit" className={className} disabled={pending} aria-busy={pending || undefined} title={title} name={name} value={value}>
      {children}
    </button>
  );
}
